package org.json;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The writer behind every toString() of Debian's org.json (Android's copy), writing the
 * keys of an object in the order org.json itself writes them.
 *
 * <p>org.json keeps an object's members in a HashMap and writes them in its iteration
 * order; Android's copy keeps insertion order. Tests that compare JSON text built by the
 * library with the text a solution builds (rest-api) depend on org.json's order. This
 * class, compiled with the exercise ahead of the jar, writes each object's members in
 * the iteration order of a HashMap filled in insertion order, which is org.json's; the
 * rest of the output (spacing, escapes, numbers) is Android's.
 */
public class JSONStringer {

    /** The state of one open array or object (names kept from Android's copy). */
    enum Scope { EMPTY_ARRAY, NONEMPTY_ARRAY, EMPTY_OBJECT, DANGLING_KEY, NONEMPTY_OBJECT, NULL }

    /** One member of an open object: its key and where its text lies in {@link #out}. */
    private static final class Member {
        final String key;
        final int start;
        int end;

        Member(String key, int start) {
            this.key = key;
            this.start = start;
        }
    }

    final StringBuilder out = new StringBuilder();
    private final List<Scope> stack = new ArrayList<>();
    private final List<List<Member>> members = new ArrayList<>();
    private final String indent;

    public JSONStringer() {
        indent = null;
    }

    JSONStringer(int indentSpaces) {
        indent = " ".repeat(indentSpaces);
    }

    public JSONStringer array() {
        return open(Scope.EMPTY_ARRAY, "[");
    }

    public JSONStringer endArray() {
        return close(Scope.EMPTY_ARRAY, Scope.NONEMPTY_ARRAY, "]");
    }

    public JSONStringer object() {
        return open(Scope.EMPTY_OBJECT, "{");
    }

    public JSONStringer endObject() {
        reorderMembers();
        return close(Scope.EMPTY_OBJECT, Scope.NONEMPTY_OBJECT, "}");
    }

    JSONStringer open(Scope empty, String openBracket) {
        if (stack.isEmpty() && out.length() > 0) {
            throw new JSONException("Nesting problem: multiple top-level roots");
        }
        beforeValue();
        stack.add(empty);
        members.add(new ArrayList<>());
        out.append(openBracket);
        return this;
    }

    JSONStringer close(Scope empty, Scope nonempty, String closeBracket) {
        Scope context = peek();
        if (context != nonempty && context != empty) {
            throw new JSONException("Nesting problem");
        }
        stack.remove(stack.size() - 1);
        members.remove(members.size() - 1);
        if (context == nonempty) {
            newline();
        }
        out.append(closeBracket);
        endMember();
        return this;
    }

    public JSONStringer value(Object value) {
        if (stack.isEmpty()) {
            throw new JSONException("Nesting problem");
        }
        if (value instanceof JSONArray) {
            ((JSONArray) value).writeTo(this);
            return this;
        } else if (value instanceof JSONObject) {
            ((JSONObject) value).writeTo(this);
            return this;
        }
        beforeValue();
        if (value == null || value instanceof Boolean || value == JSONObject.NULL) {
            out.append(value);
        } else if (value instanceof Number) {
            out.append(JSONObject.numberToString((Number) value));
        } else {
            string(value.toString());
        }
        endMember();
        return this;
    }

    public JSONStringer value(boolean value) {
        return value(Boolean.valueOf(value));
    }

    public JSONStringer value(double value) {
        return value(Double.valueOf(value));
    }

    public JSONStringer value(long value) {
        return value(Long.valueOf(value));
    }

    public JSONStringer key(String name) {
        if (name == null) {
            throw new JSONException("Names must be non-null");
        }
        Scope context = peek();
        if (context == Scope.NONEMPTY_OBJECT) {
            out.append(',');
        } else if (context != Scope.EMPTY_OBJECT) {
            throw new JSONException("Nesting problem");
        }
        newline();
        members.get(members.size() - 1).add(new Member(name, out.length()));
        replaceTop(Scope.DANGLING_KEY);
        string(name);
        return this;
    }

    @Override
    public String toString() {
        return out.length() == 0 ? null : out.toString();
    }

    private Scope peek() {
        if (stack.isEmpty()) {
            throw new JSONException("Nesting problem");
        }
        return stack.get(stack.size() - 1);
    }

    private void replaceTop(Scope topOfStack) {
        stack.set(stack.size() - 1, topOfStack);
    }

    private void newline() {
        if (indent == null) {
            return;
        }
        out.append('\n');
        for (int i = 0; i < stack.size(); i++) {
            out.append(indent);
        }
    }

    private void beforeValue() {
        if (stack.isEmpty()) {
            return;
        }
        Scope context = peek();
        if (context == Scope.EMPTY_ARRAY) {
            replaceTop(Scope.NONEMPTY_ARRAY);
            newline();
        } else if (context == Scope.NONEMPTY_ARRAY) {
            out.append(',');
            newline();
        } else if (context == Scope.DANGLING_KEY) {
            out.append(indent == null ? ":" : ": ");
            replaceTop(Scope.NONEMPTY_OBJECT);
        } else if (context != Scope.NULL) {
            throw new JSONException("Nesting problem");
        }
    }

    /** After a value: if it was an object member's, that member's text ends here. */
    private void endMember() {
        if (!stack.isEmpty() && peek() == Scope.NONEMPTY_OBJECT) {
            List<Member> open = members.get(members.size() - 1);
            Member last = open.get(open.size() - 1);
            if (last.end == 0) {
                last.end = out.length();
            }
        }
    }

    /** Rewrite the members of the object being closed in org.json's (HashMap) order. */
    private void reorderMembers() {
        List<Member> open = members.get(members.size() - 1);
        if (open.size() < 2) {
            return;
        }
        // put(), as org.json does: computeIfAbsent() would link a colliding key first.
        Map<String, List<String>> byKey = new HashMap<>();
        for (Member member : open) {
            List<String> texts = byKey.get(member.key);
            if (texts == null) {
                texts = new ArrayList<>();
                byKey.put(member.key, texts);
            }
            texts.add(out.substring(member.start, member.end));
        }
        out.setLength(open.get(0).start);
        boolean first = true;
        for (List<String> texts : byKey.values()) {
            for (String text : texts) {
                if (!first) {
                    out.append(',');
                    newline();
                }
                out.append(text);
                first = false;
            }
        }
    }

    private void string(String value) {
        out.append('"');
        for (int i = 0, length = value.length(); i < length; i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"':
                case '\\':
                case '/':
                    out.append('\\').append(c);
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                case '\b':
                    out.append("\\b");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\f':
                    out.append("\\f");
                    break;
                default:
                    if (c <= 0x1F) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                    break;
            }
        }
        out.append('"');
    }
}
