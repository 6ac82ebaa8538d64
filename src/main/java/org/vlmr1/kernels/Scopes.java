// Lets a result outlive the PointerScope that a kernel opens for its temporaries (JAVACPP-NOTES.md, memory).
package org.vlmr1.kernels;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/** Helpers to hand results from an inner PointerScope to the caller's. */
final class Scopes {
  private Scopes() {}

  /**
   * Makes {@code p} survive the closing of the innermost scope: it is attached to {@code outer} (the caller's scope,
   * read before the inner one opened) so the caller's scope frees it, or, with no outer scope, retained so that it
   * lives until the garbage collector or an explicit close.
   */
  static <P extends Pointer> P escape(P p, PointerScope outer) {
    if (p == null) {
      return null;
    }
    if (outer != null) {
      outer.attach(p);
    } else {
      p.retainReference();
    }
    return p;
  }
}
