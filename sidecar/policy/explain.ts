// Why a call was (or would be) allowed or denied: every entry of the matched rule, each
// condition with the values seen. Slow path, off the request path: `meshward policy
// explain`, policy tests and audit detail. The decision itself is always decideRule's.
import { decideRule, entryMatches, peerMatches } from './evaluate.js';
import type {
  CallFacts,
  CompiledEntry,
  CompiledMethodRule,
  ConditionResult,
  Decision,
  EntryExplanation,
  Explanation,
} from './model.js';
import { methodPatternMatches, parseMethodPattern } from './patterns.js';

/** `rules` are all compiled rules, most specific first; `rule` is the one lookup chose. */
export function explainCall(rules: readonly CompiledMethodRule[], rule: CompiledMethodRule | undefined, facts: CallFacts): Explanation {
  const decision = decideRule(rule, facts);
  const candidates = rules
    .filter((r) => {
      const parsed = parseMethodPattern(r.pattern);
      return parsed.ok && methodPatternMatches(parsed.value, facts.method);
    })
    .map((r) => Object.freeze({ pattern: r.pattern, kind: r.kind, chosen: r === rule }));
  const entries = rule === undefined ? [] : [...rule.deny, ...rule.allow].map((e) => explainEntry(e, facts));
  return Object.freeze({
    facts,
    decision,
    summary: summarize(decision, rule, facts),
    candidates: Object.freeze(candidates),
    rule,
    entries: Object.freeze(entries),
  });
}

function explainEntry(entry: CompiledEntry, facts: CallFacts): EntryExplanation {
  const conditions: ConditionResult[] = [];
  const peerOk = peerMatches(entry.peer, facts.principal);
  const principal = facts.principal ?? '(none: plaintext caller)';
  if (entry.peer === undefined) {
    conditions.push({ key: 'unauthenticated', ok: true, expected: 'any caller, plaintext included', seen: principal });
  } else if (entry.source.principals !== undefined) {
    conditions.push({ key: 'principals', ok: peerOk, expected: `one of ${entry.source.principals.join(', ')}`, seen: principal });
  } else {
    conditions.push({ key: 'peer', ok: peerOk, expected: 'an authenticated peer (mTLS)', seen: principal });
  }
  const condition = entry.jwt;
  if (condition !== undefined) {
    const jwt = facts.jwt;
    conditions.push({
      key: 'jwt.provider',
      ok: jwt !== undefined && jwt.provider === condition.provider,
      expected: condition.provider,
      seen: jwt === undefined ? '(no JWT)' : jwt.provider,
    });
    for (const claim of condition.claims) {
      const value = jwt === undefined ? undefined : claim.read(jwt.payload);
      const expected = claim.expected.map((v) => JSON.stringify(v)).join(' or ');
      conditions.push({
        key: `jwt.claims.${claim.path}`,
        ok: jwt !== undefined && claim.matches(value),
        expected: claim.scope ? `an item ${expected} in the space-separated list` : expected,
        seen: jwt === undefined ? '(no JWT)' : value === undefined ? '(missing)' : shorten(JSON.stringify(value)),
      });
    }
  }
  return Object.freeze({
    id: entry.id,
    list: entry.list,
    where: entry.where,
    matched: entryMatches(entry, facts),
    conditions: Object.freeze(conditions.map((c) => Object.freeze(c))),
  });
}

function summarize(decision: Decision, rule: CompiledMethodRule | undefined, facts: CallFacts): string {
  const audit = decision.decision === 'audit_deny' ? ' (audit mode: the call goes through)' : '';
  const entry = (list: 'allow' | 'deny') => firstMatching(rule, list, facts)?.id ?? decision.rule;
  switch (decision.reason) {
    case 'default_deny':
      return `no policy rule matches ${facts.method}: default deny`;
    case 'allowed':
      return `allowed by ${entry('allow')} (pattern ${decision.pattern})`;
    case 'denied_by_rule':
      return `denied by ${entry('deny')} (pattern ${decision.pattern})${audit}`;
    case 'jwt_required': {
      const wanting = rule?.allow.find((e) => e.onJwtMissing !== undefined && peerMatches(e.peer, facts.principal));
      return `${wanting?.id ?? decision.rule} would allow the call with a JWT from provider ${wanting?.jwt?.provider}, and none was presented${audit}`;
    }
    case 'no_allow_match':
      return `no allow entry for pattern ${decision.pattern} matches${audit}`;
  }
}

function firstMatching(rule: CompiledMethodRule | undefined, list: 'allow' | 'deny', facts: CallFacts): CompiledEntry | undefined {
  return rule?.[list].find((e) => entryMatches(e, facts));
}

function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
