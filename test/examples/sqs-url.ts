// SQS credentials the way a user without an AWS profile gives them to an example that takes a URL
// only: in the URL's userinfo (`sqs://ACCESS_KEY_ID:SECRET@host:port?region=…`, see packages/sqs/README.md).
import { testCredentials } from '../../packages/sqs/test/helpers.js';

/** The test ElasticMQ's URL with the (not secret) test credentials in it. */
export function sqsUrlWithCredentials(url: string): string {
  const withCredentials = new URL(url);
  withCredentials.username = encodeURIComponent(testCredentials.accessKeyId);
  withCredentials.password = encodeURIComponent(testCredentials.secretAccessKey);
  return withCredentials.href;
}
