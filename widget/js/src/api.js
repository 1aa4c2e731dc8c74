// The calls the widget makes to ringproof with a publishable key, and the
// event stream it follows with a verification's watch token.

// APIError is an answer other than 2xx: status, the API's error code,
// message and field, and the Retry-After seconds when given.
export class APIError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || "";
    this.retryAfter = retryAfter;
  }
}

// Client calls the verification API at server with key.
export class Client {
  constructor(server, key) {
    this.server = server.replace(/\/+$/, "");
    this.key = key;
  }

  async request(method, path, body) {
    const init = {
      method,
      headers: { Authorization: "Bearer " + this.key },
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.server + path, init);
    } catch (e) {
      // A refused preflight or a network failure: the browser tells no
      // more.
      throw new APIError(0, "network", e && e.message);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const retry = parseInt(res.headers.get("Retry-After") || "", 10);
      throw new APIError(res.status, err.code || "http_" + res.status, err.message, err.field, isNaN(retry) ? undefined : retry);
    }
    return data;
  }

  // settings returns what the key allows: {methods: [...]}.
  settings() {
    return this.request("GET", "/v1/widget");
  }

  // create starts a verification.
  create(req) {
    return this.request("POST", "/v1/verifications", req);
  }

  // get reads a verification the key created.
  get(id) {
    return this.request("GET", "/v1/verifications/" + encodeURIComponent(id));
  }

  // check checks a code; the code HANGUP says nothing came.
  check(id, code) {
    return this.request("POST", "/v1/verifications/" + encodeURIComponent(id) + "/check", { code });
  }

  // follow calls onUpdate with each state of verification id, and of the
  // links that follow it in its fallback chain, until one is final
  // without a next link or stop() is called. onUpdate gets the
  // verification as the stream shows it (number masked).
  follow(id, token, onUpdate, onError) {
    let source = null;
    let stopped = false;
    const open = (linkID) => {
      const url = this.server + "/v1/verifications/" + encodeURIComponent(linkID) + "/events?token=" + encodeURIComponent(token);
      source = new EventSource(url);
      source.addEventListener("verification", (e) => {
        let v;
        try {
          v = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        if (stopped) return;
        if (v.next_id) {
          // The chain moved on: follow the next link instead.
          source.close();
          onUpdate(v);
          if (!stopped) open(v.next_id);
          return;
        }
        if (chainOver(v)) {
          // The server ends the stream here; closing first keeps
          // EventSource from reconnecting.
          source.close();
        }
        onUpdate(v);
      });
      source.onerror = () => {
        // EventSource reconnects by itself while the stream is open;
        // a closed source means the server refused it.
        if (source.readyState === EventSource.CLOSED && !stopped && onError) onError();
      };
    };
    open(id);
    return {
      stop() {
        stopped = true;
        if (source) source.close();
      },
    };
  }
}

// isFinal reports whether no code can change status any more.
export function isFinal(status) {
  return status === "verified" || status === "failed" || status === "expired" || status === "canceled";
}

// chainOver reports whether v is final and no link will follow it: it was
// verified, expired or canceled, or it has no fallback left, or the next
// link could not be started.
export function chainOver(v) {
  if (!isFinal(v.status)) return false;
  if (v.status !== "failed") return true;
  const events = v.events || [];
  return !(v.fallback && v.fallback.length) || events.some((e) => e.type === "fallback_failed");
}
