/**
 * The proxy's policy: one versioned JSON document ({@link dev.tollgate.common.policy.Policy}) and a
 * pure decision function over it ({@link dev.tollgate.common.policy.PolicyEngine#decide}).
 *
 * <p>The document's sections: {@code version} (assigned by the store), {@code auth} (required,
 * realm, users as bcrypt hashes or an htpasswd path, groups), {@code rules} (ordered; the first
 * whose matchers all match decides), {@code default} ({@code allow} or {@code deny}),
 * {@code network.allowPrivate}, {@code limits} (default, per group, per user), {@code timeouts}
 * and {@code enforceOnOpenTunnels}. Every validation error is a
 * {@link dev.tollgate.common.policy.PolicyException} naming the bad value's path.
 */
package dev.tollgate.common.policy;
