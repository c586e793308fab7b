/**
 * JSON Schemas compared by what they accept and what they tell a client,
 * not by how a generator spells them: keys sorted, `required` as a set, and
 * spellings of "anything goes" left out (`additionalProperties: true` or
 * `{}`, `propertyNames: { type: "string" }` — every JSON key is a string —,
 * an empty `required` or `properties`, and ±`Number.MAX_SAFE_INTEGER` bounds on integers).
 */
const isDefault = (key: string, value: unknown): boolean =>
  (key === "additionalProperties" &&
    (value === true || (typeof value === "object" && value !== null && Object.keys(value).length === 0))) ||
  (key === "propertyNames" && JSON.stringify(value) === '{"type":"string"}') ||
  (key === "required" && Array.isArray(value) && value.length === 0) ||
  (key === "properties" && typeof value === "object" && value !== null && Object.keys(value).length === 0) ||
  ((key === "minimum" || key === "maximum") && Math.abs(Number(value)) === Number.MAX_SAFE_INTEGER)

export const normalJsonSchema = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(normalJsonSchema)
  if (typeof schema !== "object" || schema === null) return schema
  const entries = Object.entries(schema)
    .filter(([key, value]) => !isDefault(key, value))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) =>
      key === "required" && Array.isArray(value) ? [key, [...value].sort()] : [key, normalJsonSchema(value)],
    )
  return Object.fromEntries(entries)
}
