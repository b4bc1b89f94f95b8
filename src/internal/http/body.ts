/**
 * What a request body must be before it is parsed: JSON, by its content
 * type.
 */

/** The methods whose requests carry a body to an endpoint. */
const withBody = new Set(["POST", "PUT", "PATCH"])

/** Whether a request of this method must have a JSON body. */
export const takesBody = (method: string): boolean => withBody.has(method)

/** `application/json`, in any case, with or without parameters (`; charset=utf-8`). */
export const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && contentType.split(";")[0]!.trim().toLowerCase() === "application/json"
