package benchwarden.assertj;

import java.lang.reflect.Array;
import java.util.function.Consumer;

/**
 * AssertJ assertions newer than Debian's AssertJ (3.14), as plain requirements.
 *
 * <p>{@code hasDimensions(rows, columns)} of two-dimensional arrays came with AssertJ
 * 3.17 (mazy-mice uses it). The build rewrites {@code .hasDimensions(r, c)} to
 * {@code .satisfies(benchwarden.assertj.Compat.hasDimensions(r, c))}: the same check
 * (that many rows, each of that many columns) through an assertion 3.14 has.
 */
public final class Compat {
    private Compat() {
    }

    public static <T> Consumer<T[]> hasDimensions(int rows, int columns) {
        return actual -> {
            if (actual == null) {
                throw new AssertionError("\nExpecting actual not to be null");
            }
            if (actual.length != rows) {
                throw new AssertionError(String.format(
                    "%nExpecting actual to have %d rows but had %d", rows, actual.length));
            }
            for (int i = 0; i < actual.length; i++) {
                int length = actual[i] == null ? 0 : Array.getLength(actual[i]);
                if (length != columns) {
                    throw new AssertionError(String.format(
                        "%nExpecting actual[%d] to have %d columns but had %d",
                        i, columns, length));
                }
            }
        };
    }
}
