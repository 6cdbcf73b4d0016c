package org.json;

/**
 * org.json's JSONException, as the exercises expect it: unchecked.
 *
 * <p>Debian packages org.json's API as Android's clean-room copy (libandroid-json-java),
 * whose JSONException is a checked exception: code written for org.json (which never
 * catches it) would not compile. This class, compiled with the exercise and ahead of
 * that jar on the class path, restores org.json's contract; Android's classes construct
 * it through these same constructors.
 */
public class JSONException extends RuntimeException {
    public JSONException(String message) {
        super(message);
    }

    public JSONException(String message, Throwable cause) {
        super(message, cause);
    }

    public JSONException(Throwable cause) {
        super(cause);
    }
}
