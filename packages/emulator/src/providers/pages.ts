/**
 * What the emulated providers show a person: small HTML pages, and the
 * redirect back to the client after an authorization decision.
 */
import { escapeHtml } from "../Http.js"

export const page = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:system-ui;max-width:34rem;margin:3rem auto"><h1>${title}</h1>${body}</body></html>`

/** The request's parameters as hidden form fields, so the decision form carries them on. */
export const hiddenFields = (query: URLSearchParams): string =>
  [...query]
    // The decision is the person's, from the buttons: one in the URL would stand beside theirs.
    .filter(([name]) => name !== "decision")
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("")

/** Allow and Deny buttons posting `decision` with the request's parameters. */
export const consentForm = (action: string, query: URLSearchParams): string =>
  `<form method="post" action="${action}">${hiddenFields(query)}` +
  `<button name="decision" value="approve">Allow</button> <button name="decision" value="deny">Deny</button></form>`

/** The decision a consent form posted, if it names one. */
export const consentDecision = (form: URLSearchParams): "approve" | "deny" | undefined => {
  const decision = form.get("decision")
  return decision === "approve" || decision === "deny" ? decision : undefined
}

/** The page for a decision POST that names no decision: nothing is approved by default. */
export const noDecision = (provider: string): string =>
  page(
    `${provider} — no decision`,
    "<p>Choose Allow or Deny: send <code>decision=approve</code> or <code>decision=deny</code>.</p>",
  )

/**
 * An authorization request so broken that it cannot redirect back (unknown
 * client or redirect URI, RFC 6749 §4.1.2.1): the page shows the reason.
 */
export class Unredirectable extends Error {}

/**
 * The redirect back to the client, echoing `state` as RFC 6749 §4.1.2 asks,
 * and naming the issuer (RFC 9207) when the server does.
 */
export const redirectBack = (redirectUri: string, state: string | null, iss?: string) => {
  const to = (params: Record<string, string>) => {
    const back = new URL(redirectUri)
    if (state !== null) back.searchParams.set("state", state)
    if (iss !== undefined) back.searchParams.set("iss", iss)
    for (const [name, value] of Object.entries(params)) back.searchParams.set(name, value)
    return back.toString()
  }
  return {
    error: (error: string, description: string) => to({ error, error_description: description }),
    success: to,
  }
}

/** The page for an `Unredirectable` request, or rethrows anything else. */
export const cannotContinue = (provider: string, error: unknown): string => {
  if (!(error instanceof Unredirectable)) throw error
  return page(`${provider} — cannot continue`, `<p>${escapeHtml(error.message)}</p>`)
}
