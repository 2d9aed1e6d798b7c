/**
 * Standard Schema v1 (standardschema.dev), the interface that zod (3.24+ and 4), valibot (1.x),
 * arktype (2.x) and others implement under the `~standard` key. The spec is meant to be written
 * into a library as a type, so core accepts every such validator without depending on any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

// A namespace of types only (nothing at run time), so the names read as the spec writes them.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace StandardSchemaV1 {
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    /** The library, e.g. `zod`, `valibot`, `arktype`. */
    readonly vendor: string;
    /** Validate a value: a result, or a promise of one where the schema has async checks. */
    readonly validate: (value: unknown, options?: Options  ) => Result<Output> | Promise<Result<Output>>;
    /** Carries the types for inference only; absent at run time. */
    readonly types?: Types<Input, Output> | undefined;
  }

  interface Options {
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }

  type Result<Output> = SuccessResult<Output> | FailureResult;

  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  interface Issue {
    readonly message: string;
    /** Keys from the root to the bad value; a library may give a segment as `{ key }`. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  interface PathSegment {
    readonly key: PropertyKey;
  }

  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  /** What the schema accepts (before defaults and transforms). */
  type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  /** What the schema produces (after defaults and transforms). */
  type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}
