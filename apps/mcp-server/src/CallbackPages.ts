/**
 * The pages the loopback listener shows the browser after an authorization
 * redirect: what happened and what to do next, in plain words. Anything
 * that came from the URL or the provider is HTML-escaped; no page shows a
 * code, a token or a secret.
 */

export interface Page {
  readonly status: number
  readonly title: string
  /** Paragraphs of plain text, escaped when rendered. */
  readonly paragraphs: ReadonlyArray<string>
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export const render = (page: Page): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hyperauth: ${escapeHtml(page.title)}</title></head>` +
  `<body style="font-family:system-ui;max-width:34rem;margin:3rem auto;line-height:1.5"><h1>${escapeHtml(page.title)}</h1>` +
  page.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("") +
  `</body></html>`

export const signedIn = (provider: string): Page => ({
  status: 200,
  title: "Signed in",
  paragraphs: [
    `You are signed in to ${provider}.`,
    "You can close this tab and go back to your assistant: it can use the login now.",
  ],
})

/**
 * The login ended without tokens: the provider refused it (`code` and
 * `description` are then the provider's words), the exchange failed, or
 * its time ran out.
 */
export const failed = (provider: string, code: string, description: string | undefined): Page => ({
  status: 400,
  title: "Sign-in did not finish",
  paragraphs: [
    `The ${provider} sign-in ended with ${code}${description === undefined || description === "" ? "" : `: ${description}`}.`,
    code === "access_denied"
      ? "Access was not granted, so nothing was saved. If that was a mistake, ask your assistant to start the login again."
      : "Nothing was saved. Ask your assistant to start the login again; if it keeps failing, tell it the code above.",
    "You can close this tab.",
  ],
})

/**
 * A callback whose `state` matches no login waiting here: a link opened
 * twice long after, a login another program started, or a page trying to
 * interfere. It changes nothing.
 */
export const notPending = (provider: string): Page => ({
  status: 400,
  title: "No sign-in is waiting for this link",
  paragraphs: [
    `This ${provider} sign-in link belongs to no login this hyperauth server is waiting for, so it was ignored and nothing changed.`,
    "If you started the sign-in from another assistant, copy this page's full address and give it to that assistant. Otherwise ask your assistant to start a new login.",
  ],
})

/** A callback for a waiting login that cannot be used as it is (a repeated parameter, another issuer). */
export const unusable = (provider: string, reason: string): Page => ({
  status: 400,
  title: "This sign-in link cannot be used",
  paragraphs: [
    `The ${provider} sign-in response was not accepted: ${reason}`,
    "Your login is still waiting: open the sign-in link your assistant gave you again.",
  ],
})

export const notFound: Page = { status: 404, title: "Not found", paragraphs: ["Nothing is served here."] }

/** A request naming a host other than this loopback listener (a page rebound to loopback by DNS). */
export const misdirected: Page = {
  status: 421,
  title: "Wrong address",
  paragraphs: ["This server answers sign-in redirects sent to 127.0.0.1, ::1 or localhost only."],
}

/** A request whose target is not a URL (a raw client, never a browser). */
export const badRequest: Page = { status: 400, title: "Bad request", paragraphs: ["The request target is not a URL."] }

export const internalError: Page = {
  status: 500,
  title: "Something went wrong",
  paragraphs: ["hyperauth could not handle this sign-in response. Ask your assistant to start the login again."],
}
