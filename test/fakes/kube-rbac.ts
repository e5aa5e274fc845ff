/**
 * RBAC for the fake API server, evaluated the way kube-apiserver's RBAC authorizer does
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/ and /authorization/#review-your-request-attributes):
 * - a bearer token identifies the user (`system:serviceaccount:<ns>:<name>` for a ServiceAccount);
 *   an unknown or missing token is 401 Unauthorized;
 * - the verb comes from the HTTP method: GET on an object `get`, on a collection `list`, with
 *   `?watch=true` `watch`; POST `create`, PUT `update`, PATCH `patch`, DELETE `delete`;
 * - the resource is `<plural>` or `<plural>/<subresource>`; a rule matches when its apiGroups,
 *   resources and verbs contain the request's (or `*`), and, when it lists resourceNames, the
 *   request names one of them (so create, list and watch never match a rule with resourceNames);
 * - a RoleBinding grants its Role's (or ClusterRole's) rules in its own namespace, a
 *   ClusterRoleBinding grants its ClusterRole's rules everywhere; nothing else is allowed (403).
 */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  namespace: string;
  resource: string;
  subresource?: string | undefined;
  name?: string | undefined;
}

export interface Rbac {
  /** Token → user name. */
  tokens: Record<string, string>;
  /** The rendered Role, ClusterRole, RoleBinding and ClusterRoleBinding objects. */
  objects: unknown[];
}

export const serviceAccountUser = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

export function verbOf(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

const has = (list: string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!has(rule.apiGroups, a.apiGroup) || !has(rule.resources, resource) || !has(rule.verbs, a.verb)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

function subjectIs(subject: { kind: string; name: string; namespace?: string }, user: string): boolean {
  if (subject.kind === 'User') return subject.name === user;
  if (subject.kind === 'ServiceAccount') return serviceAccountUser(subject.namespace ?? '', subject.name) === user;
  return false;
}

/** The rules that apply to `user` in `namespace`. */
export function rulesFor(objects: unknown[], user: string, namespace: string): PolicyRule[] {
  const all = objects as RbacObject[];
  const find = (kind: string, name: string, ns?: string) => all.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === ns));
  const rules: PolicyRule[] = [];
  for (const binding of all) {
    if (binding.kind !== 'RoleBinding' && binding.kind !== 'ClusterRoleBinding') continue;
    if (binding.kind === 'RoleBinding' && binding.metadata.namespace !== namespace) continue;
    if (!(binding.subjects ?? []).some((s) => subjectIs(s, user)) || !binding.roleRef) continue;
    const role = find(binding.roleRef.kind, binding.roleRef.name, binding.metadata.namespace);
    rules.push(...(role?.rules ?? []));
  }
  return rules;
}

export function authorize(rbac: Rbac, user: string, a: RequestAttributes): boolean {
  return rulesFor(rbac.objects, user, a.namespace).some((rule) => ruleAllows(rule, a));
}

export interface Refusal {
  code: 401 | 403;
  reason: 'Unauthorized' | 'Forbidden';
  message: string;
  user: string;
}

/** Authentication by bearer token, then authorization; null when the request may proceed. */
export function admit(rbac: Rbac, authorization: string | undefined, a: RequestAttributes): Refusal | null {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
  const user = rbac.tokens[token];
  if (!user) return { code: 401, reason: 'Unauthorized', message: 'Unauthorized', user: '' };
  if (authorize(rbac, user, a)) return null;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  // kube-apiserver's wording, so client-node and logs show what a real cluster would.
  const message = `${resource}${a.name ? ` "${a.name}"` : ''} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`;
  return { code: 403, reason: 'Forbidden', message, user };
}
