// The public GraphQL API, with the signed-in user's token and purpose. The token
// and purpose live in this module's memory only (never localStorage or cookies):
// reloading the page signs out.

const session = { token: null, purpose: null, me: null };

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const getSession = () => session;

export function signOut() {
  session.token = null;
  session.purpose = null;
  session.me = null;
}

/** Casework roles read person data: they need a purpose. */
export const needsPurpose = (role) => ["investigator", "data_steward", "partner_system"].includes(role);

/**
 * Run a GraphQL operation. Throws ApiError (code from `extensions.code`) on any error.
 * The X-Purpose header goes with every request once a purpose is set.
 */
export async function gql(query, variables = {}, { token = session.token } = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (session.purpose) headers["X-Purpose"] = session.purpose;
  let resp;
  try {
    resp = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("NETWORK", "The server could not be reached.", 0);
  }
  let body = null;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError("HTTP", `The server answered ${resp.status}.`, resp.status);
  }
  const err = body?.errors?.[0];
  if (err) throw new ApiError(err.extensions?.code || "ERROR", err.message, resp.status);
  if (!resp.ok) throw new ApiError("HTTP", `The server answered ${resp.status}.`, resp.status);
  return body.data;
}

/** Sign in: check the token with `me` (no person data, no purpose needed). */
export async function signIn(token) {
  const data = await gql("query Me { me { name role } }", {}, { token });
  session.token = token;
  session.me = data.me;
  return data.me;
}

const CASE_RE = /^[A-Za-z0-9][A-Za-z0-9/_.:-]{2,63}$/;

/** Check and set the purpose; returns an error message or null. */
export function setPurpose(caseRef, reason) {
  const c = caseRef.trim();
  const r = reason.split(/\s+/).filter(Boolean).join(" ");
  if (!CASE_RE.test(c)) return "The case reference must be 3–64 letters, digits or / _ . : - starting with a letter or digit.";
  if (r.length < 3 || r.length > 300) return "The reason must be 3–300 characters.";
  if (/[^\x20-\x7e]/.test(r)) return "The reason may use plain letters, digits and punctuation only.";
  session.purpose = `${c}; ${r}`;
  return null;
}

/** Plain-English text for an API error. */
export function explain(err) {
  switch (err?.code) {
    case "FORBIDDEN":
      return `Your role may not see this (the API refused it: ${err.message}).`;
    case "PURPOSE_REQUIRED":
      return `A purpose is needed: ${err.message}`;
    case "UNAUTHENTICATED":
      return "Your token was not accepted. Sign in again.";
    case "NOT_FOUND":
      return `Not found: ${err.message}`;
    case "CONFLICT":
      return `Someone else decided first: ${err.message}`;
    case "OVERLOADED":
      return "The server is busy. Try again in a moment.";
    case "TIMEOUT":
      return "The request took too long and was stopped. Try a narrower question.";
    default:
      return err?.message || "Something went wrong.";
  }
}
