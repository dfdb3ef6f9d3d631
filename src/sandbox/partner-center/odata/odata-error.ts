/** A client mistake in an OData query option; surfaces as 400 `invalidRequest` with the option as target. */
export class ODataQueryError extends Error {
  override readonly name = 'ODataQueryError';
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
  }
}
