// A private ElasticMQ (an SQS-compatible server) from the jars scripts/brokers/elasticmq.mjs resolves
// (see private-broker.ts), with its H2 message storage in a temporary data dir, so that a restart
// (even after SIGKILL) keeps the queues and the messages it acknowledged.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { freePorts } from '../ports.js';
import { tempDir } from '../processes.js';
import { ELASTICMQ_LIBS } from './availability.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';

/** True once `ListQueues` answers over HTTP (the query protocol). */
export function sqsReady(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const body = 'Action=ListQueues&Version=2012-11-05';
    const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', timeout: timeoutMs, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && text.includes('ListQueuesResponse')));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end(body);
  });
}

export async function startElasticMQ(): Promise<PrivateBroker> {
  const [port] = (await freePorts(1)) as [number];
  const dir = tempDir('elasticmq');
  const config = join(dir, 'custom.conf');
  // WRITE_DELAY=0: H2 writes each commit at once (its default waits up to 500 ms, which a SIGKILL loses).
  writeFileSync(
    config,
    [
      'include classpath("application.conf")',
      `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
      `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
      'rest-stats { enabled = false }',
      `messages-storage { enabled = true, uri = "jdbc:h2:${join(dir, 'elasticmq-h2')};WRITE_DELAY=0" }`,
      '',
    ].join('\n'),
  );
  const spec: LaunchSpec = {
    name: `elasticmq :${port}`,
    command: 'java',
    args: ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dconfig.file=${config}`, '-cp', `${ELASTICMQ_LIBS}/*`, 'org.elasticmq.server.Main'],
    cwd: dir,
    readyLine: /ElasticMQ server \([^)]*\) started/,
    probe: () => sqsReady(port),
    startTimeoutMs: 60_000,
  };
  const broker = new PrivateBroker('sqs', `sqs://127.0.0.1:${port}?region=elasticmq`, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
