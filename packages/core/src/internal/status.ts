/**
 * HTTP status classes (RFC 9110 §15). Node accepts any three-digit status,
 * but only 1xx to 5xx are classes: a 6xx to 9xx answer is nobody's
 * temporary trouble, so it is neither retried nor told to be the server's.
 */

/** A 5xx: the server failed to fulfil a request it may have understood (RFC 9110 §15.6). */
export const isServerError = (status: number): boolean => status >= 500 && status <= 599
