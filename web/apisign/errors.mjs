// errors.mjs: the error of every apisign failure.

/** The error of every apisign failure: a stable `code`, a message without secrets. */
export class ApisignError extends Error {
  constructor(code, message, options = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "ApisignError";
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    if (options.data !== undefined) this.data = options.data;
  }
}

export const inputError = (msg) => new ApisignError("E_INPUT", msg);
