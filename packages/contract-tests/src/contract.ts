import { afterEach, beforeEach, describe, it } from 'vitest';
import { BusPool, caseName, missingFeature, type CaseContext, type MakeTransport } from './fixtures.js';
import { contractCases, type ContractCaseTable } from './cases/index.js';

export interface ContractOptions {
  /** Upper bound for each wait on a message, in ms (default 20 s). Slow brokers may raise it. */
  readonly waitTimeoutMs?: number;
  /** Messages in the volume test (default 1,000). */
  readonly volume?: number;
  /** The sections and cases to run (default `contractCases`, all of them): pick or add your own. */
  readonly cases?: ContractCaseTable;
}

/**
 * The transport conformance suite. Every transport (ours or a third party's) calls
 * it with a factory; each test creates its own transports, topics and groups, and
 * skips only what the transport's capabilities say it lacks.
 */
export function describeTransportContract(name: string, makeTransport: MakeTransport, options: ContractOptions = {}): void {
  const timeoutMs = options.waitTimeoutMs ?? 20_000;
  const volume = options.volume ?? 1_000;

  describe(`transport contract: ${name}`, () => {
    let pool: BusPool;
    beforeEach(() => {
      pool = new BusPool(makeTransport);
    });
    afterEach(async () => {
      await pool.closeAll();
    });

    for (const [section, cases] of Object.entries(options.cases ?? contractCases)) describe(section, () => {
      for (const contractCase of cases) {
        it(caseName(contractCase, { volume }), async (ctx) => {
          if (contractCase.features?.length || contractCase.requires) {
            const probe = await pool.open();
            const missing = missingFeature(probe.transport, contractCase);
            if (missing !== undefined) return ctx.skip(missing);
          }
          const context: CaseContext = { pool, timeoutMs, volume };
          await contractCase.run(context);
        });
      }
    });
  });
}
