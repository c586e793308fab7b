/**
 * `list_providers` with invalid settings, end to end over stdio with the
 * SDK's Client: every provider still has its `api_base_url` where it can be
 * known (a valid `*_BASE_URL` replaces the environment, so a bad
 * `*_ENVIRONMENT` beside it does not hide it), and where it cannot, the
 * field is empty and `api_base_url_problem` names the setting to fix and
 * what it accepts, quoting no value.
 */
import { describe, expect, it } from "vitest"
import { connect, structured } from "./support/harness.js"

interface Listed {
  readonly id: string
  readonly configured: boolean
  readonly problem?: string
  readonly api_base_url?: string
  readonly api_base_url_problem?: string
}

const listed = async (env: Record<string, string>) => {
  const session = await connect({ HYPERAUTH_STORE: "memory", ...env })
  try {
    const providers = structured(await session.call("list_providers")).providers as ReadonlyArray<Listed>
    return Object.fromEntries(providers.map((p) => [p.id, p]))
  } finally {
    await session.close()
  }
}

describe("list_providers with invalid settings", () => {
  it("says the API base it can, and flags the one it cannot with what to fix", async () => {
    const byId = await listed({
      HYPER_BASE_URL: "https://ada:pa55word@hyper.example",
      HYPERID_ENVIRONMENT: "staging",
      HYPERID_BASE_URL: "http://127.0.0.1:4011",
      HYPERLINE_ENVIRONMENT: "qa",
      HYPERPROOF_AUTH_URL: "accounts.hyperproof.example",
    })
    // Every provider has the field, as the contract lists it.
    for (const id of ["hyper", "hyperid", "hyperline", "hyperproof"]) expect(byId[id]).toHaveProperty("api_base_url")

    expect(byId.hyper?.api_base_url).toBe("")
    expect(byId.hyper?.api_base_url_problem).toContain("HYPER_BASE_URL must be an http(s) origin")
    expect(byId.hyper?.api_base_url_problem).toContain("https://api.hyper.io")

    // HYPERID_BASE_URL replaces the environment: the base is known; the bad environment is still the problem.
    expect(byId.hyperid?.api_base_url).toBe("http://127.0.0.1:4011/auth/realms/HyperID/protocol/openid-connect")
    expect(byId.hyperid).not.toHaveProperty("api_base_url_problem")
    expect(byId.hyperid?.configured).toBe(false)
    expect(byId.hyperid?.problem).toContain("HYPERID_ENVIRONMENT must be production or sandbox")

    expect(byId.hyperline?.api_base_url).toBe("")
    expect(byId.hyperline?.api_base_url_problem).toContain("HYPERLINE_ENVIRONMENT must be production or sandbox")

    // The token endpoint's origin is broken, not the API's.
    expect(byId.hyperproof?.api_base_url).toBe("https://api.hyperproof.app")
    expect(byId.hyperproof).not.toHaveProperty("api_base_url_problem")
    expect(byId.hyperproof?.problem).toContain("HYPERPROOF_AUTH_URL must be an http(s) origin")

    const everything = JSON.stringify(byId)
    for (const value of ["pa55word", "ada:", "staging", 'qa"', "accounts.hyperproof.example"]) {
      expect(everything).not.toContain(value)
    }
  })

  it("with valid settings, or none, names every API base and no problem", async () => {
    const byId = await listed({})
    expect(byId.hyper?.api_base_url).toBe("https://api.hyper.io")
    expect(byId.hyperline?.api_base_url).toBe("https://api.hyperline.co")
    for (const provider of Object.values(byId)) expect(provider).not.toHaveProperty("api_base_url_problem")
  })
})
