/* The whole-command expression of commands.py, compiled for the commands people usually write.
 *
 * read(text, user, server, other_symbols) returns what
 *     (*match.groups(), match.end("verb"), match.end())
 * is for the grammar's whole-command expression, or None when it does not settle the post: then
 * commands.py runs the expression itself. It reads a post the way the expression does, in the
 * same order, and declines (returns None) wherever the expression could backtrack to another
 * reading or a character could fold to another (the Kelvin sign, dotted capital I, and so on).
 * Declining is always safe, so every doubt declines. Tests compare both on generated posts.
 *
 * The text is never written and every read goes through at(), which answers END past either end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define END ((Py_UCS4)0xFFFFFFFF)

enum { FAIL = 0, OK = 1, DECLINE = -1 };

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t length;
    PyObject *other_symbols; /* currency symbols other than the euro sign */
} Text;

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) {
    return (i >= 0 && i < t->length) ? PyUnicode_READ(t->kind, t->data, i) : END;
}

static inline int is_ascii(Py_UCS4 c) { return c < 128; }
static inline int is_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static inline int is_ascii_letter(Py_UCS4 c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/* The two characters outside ASCII that the expression's _LETTER takes: İ and the Kelvin sign. */
static inline int is_letter_beyond_ascii(Py_UCS4 c) { return c == 0x130 || c == 0x212A; }
static inline int is_ascii_alnum(Py_UCS4 c) { return is_ascii_letter(c) || is_digit(c); }
static inline Py_UCS4 ascii_lower(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* The expression's {_S}: \s plus the invisible spaces people paste. */
static inline int is_space(Py_UCS4 c) {
    if (c == END) return 0;
    return Py_UNICODE_ISSPACE(c) || c == 0x200B || c == 0x2060 || c == 0xFEFF;
}

/* \w as the re module reads it in a str pattern. */
static inline int is_word(Py_UCS4 c) {
    if (c == END) return 0;
    return c == '_' || Py_UNICODE_ISALNUM(c);
}

static inline int is_at(Py_UCS4 c) { return c == '@' || c == 0xFF20; }
static inline int is_handle_char(Py_UCS4 c) {
    return is_ascii_alnum(c) || c == '_' || c == '.' || c == '-';
}
/* _SIGN_CLASS */
static inline int is_sign(Py_UCS4 c) {
    return c == '-' || c == '+' || c == 0x2212 || c == 0x2013 || c == 0x2014 || c == 0x2010 ||
           c == 0x2011;
}
/* The first letter of _PREP_AS_WRITTEN's "à" */
static inline int is_a_letter(Py_UCS4 c) {
    return c == 'a' || c == 'A' || (c >= 0xE0 && c <= 0xE2) || c == 0xE4 ||
           (c >= 0xC0 && c <= 0xC2) || c == 0xC4;
}
static inline int is_combining(Py_UCS4 c) { return c >= 0x300 && c <= 0x36F; }

static int is_other_symbol(const Text *t, Py_UCS4 c) {
    if (is_ascii(c)) return c == '$'; /* the one currency symbol in ASCII */
    if (c == END) return 0;
    return PyUnicode_FindChar(t->other_symbols, c, 0, PyUnicode_GET_LENGTH(t->other_symbols), 1) >=
           0;
}

/* {_S}(?=[0-9]{3}(?![0-9])) at i: a space that groups thousands, as in 1 000. */
static int groups_thousands_at(const Text *t, Py_ssize_t i) {
    return is_space(at(t, i)) && is_digit(at(t, i + 1)) && is_digit(at(t, i + 2)) &&
           is_digit(at(t, i + 3)) && !is_digit(at(t, i + 4));
}

/* [.,][0-9] at i: a decimal point or a thousands separator, inside a number. */
static int separates_digits_at(const Text *t, Py_ssize_t i) {
    Py_UCS4 c = at(t, i);
    return (c == '.' || c == ',') && is_digit(at(t, i + 1));
}

/* [,&+;/]: what may join a second recipient to the first. */
static inline int is_joining_mark(Py_UCS4 c) {
    return c == ',' || c == '&' || c == '+' || c == ';' || c == '/';
}

static Py_ssize_t skip_spaces(const Text *t, Py_ssize_t i) {
    while (is_space(at(t, i))) i++;
    return i;
}

/* Whether the ASCII letters of `word` (lower case) are written at i, in any case. */
static int word_at(const Text *t, Py_ssize_t i, const char *word) {
    for (; *word; word++, i++) {
        Py_UCS4 c = at(t, i);
        if (!is_ascii(c) || ascii_lower(c) != (Py_UCS4)*word) return 0;
    }
    return 1;
}

/* A mention, [@＠]HANDLE(?![\w@＠]), read at i in ASCII: *end is after it. */
static int read_mention(const Text *t, Py_ssize_t i, Py_ssize_t *end) {
    if (!is_at(at(t, i))) return FAIL;
    Py_ssize_t start = i + 1, stop = start;
    while (is_handle_char(at(t, stop))) stop++;
    Py_UCS4 first = at(t, start);
    if (stop == start) return (first != END && !is_ascii(first)) ? DECLINE : FAIL;
    if (first == '.' || first == '-') return FAIL;
    Py_UCS4 last = at(t, stop - 1);
    if (last == '.' || last == '-') return DECLINE; /* the expression would end it earlier */
    Py_UCS4 next = at(t, stop);
    if (next != END && !is_ascii(next)) return DECLINE;
    if (next == '@') { /* a fediverse handle: user@server */
        Py_ssize_t server = stop + 1, server_stop = server;
        while (is_handle_char(at(t, server_stop))) server_stop++;
        if (server_stop == server || !is_ascii_alnum(at(t, server))) return DECLINE;
        Py_UCS4 server_last = at(t, server_stop - 1);
        if (!is_ascii_alnum(server_last)) return DECLINE;
        Py_UCS4 after = at(t, server_stop);
        if (after != END && (!is_ascii(after) || after == '@')) return DECLINE;
        stop = server_stop;
    }
    *end = stop;
    return OK;
}

/* The header's (?![\w@＠]|[.-][A-Za-z0-9_]) after the service, under IGNORECASE. */
static int service_may_end_at(const Text *t, Py_ssize_t i) {
    Py_UCS4 c = at(t, i);
    if (c == END) return OK;
    if (!is_ascii(c)) return is_space(c) ? OK : DECLINE;
    if (is_word(c) || c == '@') return FAIL;
    if (c == '.' || c == '-') {
        Py_UCS4 d = at(t, i + 1);
        if (d != END && !is_ascii(d)) return DECLINE;
        if (is_ascii_alnum(d) || d == '_') return FAIL;
    }
    return OK;
}

/* The service's handle (svc) at i, an @ sign: its user part, then its server if there is one. */
static int read_service(const Text *t, Py_ssize_t i, const char *user, Py_ssize_t user_length,
                        const char *server, Py_ssize_t server_length, Py_ssize_t *end) {
    Py_ssize_t j = i + 1;
    for (Py_ssize_t k = 0; k < user_length; k++) {
        Py_UCS4 c = at(t, j + k);
        if (c == END) return FAIL;
        if (!is_ascii(c)) return DECLINE;
        if (ascii_lower(c) != (Py_UCS4)user[k]) return FAIL;
    }
    j += user_length;
    if (server_length > 0 && at(t, j) == '@') {
        int written = 1;
        for (Py_ssize_t k = 0; k < server_length && written; k++) {
            Py_UCS4 c = at(t, j + 1 + k);
            if (c != END && !is_ascii(c)) return DECLINE;
            written = c != END && ascii_lower(c) == (Py_UCS4)server[k];
        }
        if (written) {
            int ends = service_may_end_at(t, j + 1 + server_length);
            if (ends != FAIL) {
                *end = j + 1 + server_length;
                return ends;
            }
        }
        return FAIL; /* without the server, the @ that follows the user ends no handle */
    }
    int ends = service_may_end_at(t, j);
    *end = j;
    return ends;
}

/* The header's verb class [\w'’‘ʼʻ´`′＇\u0300-\u036f], for the characters taken here: ASCII,
 * the apostrophes, and the Latin-1 letters (whose cases are all Latin-1 letters). */
static inline int is_verb_char(Py_UCS4 c) {
    if (is_ascii(c)) return is_ascii_alnum(c) || c == '_' || c == '\'' || c == '`';
    return c == 0x2019 || c == 0x2018 || c == 0x2BC || c == 0x2BB || c == 0xB4 || c == 0x2032 ||
           c == 0xFF07 || (c >= 0xC0 && c <= 0xFF && c != 0xD7 && c != 0xF7);
}

/* _EURO_AS_WRITTEN at i: *end after it; FAIL when none is written there. */
static int read_euro(const Text *t, Py_ssize_t i, Py_ssize_t *end) {
    Py_UCS4 c = at(t, i);
    if (c == 0x20AC) {
        *end = i + 1;
        return OK;
    }
    if (c != 'e' && c != 'E') return FAIL;
    Py_ssize_t stop = i;
    while (is_ascii_letter(at(t, stop))) stop++;
    Py_UCS4 next = at(t, stop);
    if (is_letter_beyond_ascii(next)) return DECLINE;
    Py_ssize_t length = stop - i;
    if ((length == 3 && word_at(t, i, "eur")) || (length == 4 && word_at(t, i, "euro")) ||
        (length == 5 && word_at(t, i, "euros"))) {
        *end = stop;
        return OK;
    }
    return FAIL;
}

typedef struct {
    Py_ssize_t euro_first[2], units[2], frac[2], end;
    int marked_after; /* a euro mark after the number was taken */
} Euros;

/* _EUROS at i. */
static int read_euros(const Text *t, Py_ssize_t i, Euros *e) {
    Py_ssize_t j = i, mark_end;
    e->euro_first[0] = e->frac[0] = -1;
    e->marked_after = 0;
    int mark = read_euro(t, j, &mark_end);
    if (mark == DECLINE) return DECLINE;
    if (mark == OK) {
        e->euro_first[0] = j;
        e->euro_first[1] = mark_end;
        j = skip_spaces(t, mark_end);
    }
    Py_ssize_t units = j;
    while (is_digit(at(t, j))) j++;
    if (j == units) return FAIL; /* with or without the mark, no digit where the number starts */
    if (j - units > 12) return DECLINE;
    e->units[0] = units;
    e->units[1] = j;
    if (separates_digits_at(t, j)) {
        e->frac[0] = j + 1;
        j += is_digit(at(t, j + 2)) ? 3 : 2;
        e->frac[1] = j;
    }
    /* (?![0-9]|[.,][0-9]|{_S}[0-9]{3}(?![0-9])): otherwise the expression backtracks. */
    if (is_digit(at(t, j)) || separates_digits_at(t, j) || groups_thousands_at(t, j))
        return DECLINE;
    e->end = j;
    if (e->euro_first[0] < 0) {
        mark = read_euro(t, skip_spaces(t, j), &mark_end);
        if (mark == DECLINE) return DECLINE;
        if (mark == OK) {
            e->end = mark_end;
            e->marked_after = 1;
        }
    }
    return OK;
}

/* _PREP_AS_WRITTEN at i followed by a space: *end after the spaces; FAIL if not there. */
static int read_preposition(const Text *t, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t j;
    if (is_a_letter(at(t, i))) {
        j = i + 1;
        while (is_combining(at(t, j))) j++;
    } else if (word_at(t, i, "pour")) {
        j = i + 4;
    } else if (word_at(t, i, "to")) {
        j = i + 2;
    } else {
        return FAIL;
    }
    if (!is_space(at(t, j))) return FAIL;
    *end = skip_spaces(t, j);
    return OK;
}

/* (?:{_PREP_AS_WRITTEN}{_S}+)? then a mention, at i. */
static int read_recipient(const Text *t, Py_ssize_t i, Py_ssize_t *mention, Py_ssize_t *end) {
    Py_ssize_t after;
    if (read_preposition(t, i, &after) == OK) {
        int found = read_mention(t, after, end);
        if (found != FAIL) {
            *mention = after;
            return found;
        }
    }
    *mention = i;
    return read_mention(t, i, end);
}

/* Whether a word of ASCII letters from i is one of the phrase's small words, then a space. */
static int is_conjunction(const Text *t, Py_ssize_t i, Py_ssize_t length) {
    return (length == 2 && (word_at(t, i, "et") || word_at(t, i, "ou") || word_at(t, i, "or"))) ||
           (length == 3 && word_at(t, i, "and"));
}

/* _MAYBE_MORE at i: whether more of the phrase could follow (1), not (0), or DECLINE. */
static int maybe_more(const Text *t, Py_ssize_t i, Py_ssize_t *word_end) {
    Py_ssize_t m = skip_spaces(t, i);
    Py_UCS4 c = at(t, m);
    *word_end = -1;
    if (c == END) return 0;
    if (is_joining_mark(c) || is_at(c) || is_digit(c) ||
        is_sign(c) || c == 0x20AC || is_other_symbol(t, c))
        return 1;
    if (is_letter_beyond_ascii(c)) return DECLINE;
    if (is_a_letter(c)) {
        Py_ssize_t j = m + 1;
        while (is_combining(at(t, j))) j++;
        if (is_space(at(t, j))) return 1;
    }
    if (!is_ascii_letter(c)) return 0;
    Py_ssize_t stop = m;
    while (is_ascii_letter(at(t, stop))) stop++;
    Py_UCS4 next = at(t, stop);
    if (is_letter_beyond_ascii(next)) return DECLINE;
    Py_ssize_t length = stop - m;
    if ((is_conjunction(t, m, length) || (length == 4 && word_at(t, m, "pour")) ||
         (length == 2 && word_at(t, m, "to"))) &&
        is_space(next))
        return 1;
    if (length <= 2 && next == '$') return 1;
    Py_UCS4 after = at(t, skip_spaces(t, stop));
    if (is_digit(after) || is_sign(after)) return 1;
    *word_end = stop;
    return 0;
}

/* _JOINED_AS_WRITTEN at i: *end after the second recipient, or FAIL. */
static int read_joined(const Text *t, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t a = skip_spaces(t, i), mention;
    Py_UCS4 c = at(t, a);
    if (is_joining_mark(c))
        return read_recipient(t, skip_spaces(t, a + 1), &mention, end);
    if (a == i) return FAIL;
    Py_ssize_t stop = a;
    while (is_ascii_letter(at(t, stop))) stop++;
    if (is_conjunction(t, a, stop - a) && is_space(at(t, stop))) {
        int found = read_recipient(t, skip_spaces(t, stop), &mention, end);
        if (found != FAIL) return found;
    }
    return read_recipient(t, a, &mention, end);
}

/* _PLAIN_MEMO's characters: [^\s#\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069] */
static inline int is_memo_char(Py_UCS4 c) {
    return c != END && c != '#' && !is_space(c) && !(c >= 0x202A && c <= 0x202E) &&
           !(c >= 0x2066 && c <= 0x2069);
}

/* (?: +(?P<memo>{_PLAIN_MEMO}) *\Z)? at i: the memo's bounds, or FAIL when it is not plain. */
static int read_plain_memo(const Text *t, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *stop) {
    Py_ssize_t j = i;
    while (at(t, j) == ' ') j++;
    if (j == i) return FAIL;
    Py_UCS4 c = at(t, j);
    if (c == ',' || c == ';' || c == ':' || c == '.' || c == '-' || c == 0x2013 || c == 0x2014 ||
        !is_memo_char(c))
        return FAIL;
    *start = j;
    for (;;) {
        while (is_memo_char(at(t, j))) j++;
        *stop = j;
        if (at(t, j) != ' ') break;
        if (!is_memo_char(at(t, j + 1))) break;
        j++;
    }
    while (at(t, j) == ' ') j++;
    return at(t, j) == END ? OK : FAIL;
}

/* (?>{_NUMBER}) then {_S}*[other symbol], or [other symbol]{_S}*[0-9], at i. */
static int read_foreign(const Text *t, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t j = i;
    if (is_digit(at(t, j))) {
        for (;;) {
            while (is_digit(at(t, j))) j++;
            if (!separates_digits_at(t, j) && !groups_thousands_at(t, j)) break;
            j++;
        }
        j = skip_spaces(t, j);
        if (!is_other_symbol(t, at(t, j))) return FAIL;
        *end = j + 1;
        return OK;
    }
    if (!is_other_symbol(t, at(t, j))) return FAIL;
    j = skip_spaces(t, j + 1);
    if (!is_digit(at(t, j))) return FAIL;
    *end = j + 1;
    return OK;
}

enum {
    G_SERVICE,
    G_VERB,
    G_PAYEE_FIRST,
    G_EURO_FIRST,
    G_UNITS,
    G_FRAC,
    G_PAYEE,
    G_WORD,
    G_MEMO,
    G_JOINED,
    G_FOREIGN,
    G_NO_AMOUNT,
    GROUPS
};

/* What the expression's groups hold: a span, or -1 for a group that did not take part. */
typedef struct {
    Py_ssize_t span[GROUPS][2];
    Py_ssize_t verb_end, end;
} Reading;

static void set(Reading *r, int group, Py_ssize_t start, Py_ssize_t stop) {
    r->span[group][0] = start;
    r->span[group][1] = stop;
}

/* {_PAYMENT}{_AFTER_PAYMENT} at q: OK, FAIL (the alternative fails), or DECLINE. */
static int read_payment(const Text *t, Py_ssize_t q, Reading *r) {
    Euros e;
    Py_ssize_t stop, payment_end, mention = -1, mention_end = -1;
    int found, has_payee = 0;
    if (is_at(at(t, q))) {
        found = read_mention(t, q, &mention_end);
        if (found != OK) return found;
        Py_ssize_t k = skip_spaces(t, mention_end);
        if (at(t, k) == ',' || at(t, k) == ':') k++;
        found = read_euros(t, skip_spaces(t, k), &e);
        if (found != OK) return found;
        if (is_word(at(t, e.end))) return DECLINE;
        payment_end = e.end;
        set(r, G_PAYEE_FIRST, q + 1, mention_end);
    } else {
        found = read_euros(t, q, &e);
        if (found != OK) return found;
        Py_ssize_t s = skip_spaces(t, e.end);
        found = s > e.end ? read_recipient(t, s, &mention, &stop) : FAIL;
        if (found == DECLINE) return DECLINE;
        if (found == OK) {
            payment_end = stop;
            has_payee = 1;
            set(r, G_PAYEE, mention + 1, stop);
        } else {
            if (is_word(at(t, e.end))) return DECLINE;
            payment_end = e.end;
        }
    }
    if (e.euro_first[0] >= 0) set(r, G_EURO_FIRST, e.euro_first[0], e.euro_first[1]);
    set(r, G_UNITS, e.units[0], e.units[1]);
    if (e.frac[0] >= 0) set(r, G_FRAC, e.frac[0], e.frac[1]);

    /* _AFTER_PAYMENT */
    Py_ssize_t j = payment_end;
    while (at(t, j) == ' ') j++;
    if (at(t, j) == END) {
        r->end = j;
        return OK;
    }
    Py_ssize_t word_end;
    int more = maybe_more(t, payment_end, &word_end);
    if (more == DECLINE) return DECLINE;
    if (more) {
        found = read_joined(t, payment_end, &stop);
        if (found != OK) return found;
        set(r, G_JOINED, payment_end, stop);
        r->end = stop;
        return OK;
    }
    if (!has_payee && word_end >= 0) { /* the word that may name the amount's currency */
        Py_ssize_t word = skip_spaces(t, payment_end);
        if (word_end - word <= 9) set(r, G_WORD, word, word_end);
    }
    Py_ssize_t memo, memo_end;
    if (read_plain_memo(t, payment_end, &memo, &memo_end) == OK) {
        set(r, G_MEMO, memo, memo_end);
        r->end = t->length;
    } else {
        r->end = payment_end;
    }
    return OK;
}

static int read_command(const Text *t, const char *user, Py_ssize_t user_length,
                        const char *server, Py_ssize_t server_length, Reading *r) {
    for (int g = 0; g < GROUPS; g++) r->span[g][0] = r->span[g][1] = -1;

    /* The header: leading mentions, the service, a verb. */
    Py_ssize_t i = skip_spaces(t, 0), service_end;
    for (;;) {
        if (!is_at(at(t, i))) return DECLINE;
        int found = read_service(t, i, user, user_length, server, server_length, &service_end);
        if (found == DECLINE) return DECLINE;
        if (found == OK) break;
        Py_ssize_t end;
        if (read_mention(t, i, &end) != OK) return DECLINE;
        if (at(t, end) == ',' || at(t, end) == ':') end++;
        if (!is_space(at(t, end))) return DECLINE;
        i = skip_spaces(t, end);
    }
    set(r, G_SERVICE, i + 1, service_end);
    Py_ssize_t j = skip_spaces(t, service_end);
    if (at(t, j) == ':' || at(t, j) == ',') j++;
    j = skip_spaces(t, j);
    Py_ssize_t verb = j;
    if (at(t, j) == '?') {
        j++;
        Py_UCS4 c = at(t, j);
        if (c == '-' || c == 0x2010 || c == 0x2011) return DECLINE;
    } else {
        if (at(t, j) == '#' || at(t, j) == 0xFF03) j++;
        Py_ssize_t run = j;
        while (is_verb_char(at(t, j))) j++;
        if (j == run) return DECLINE;
        Py_UCS4 c = at(t, j);
        if (c == '-' || (c != END && !is_ascii(c) && !is_space(c))) return DECLINE;
    }
    set(r, G_VERB, verb, j);
    r->verb_end = j;

    /* What follows the verb: a payment, an amount in another currency, or no amount. */
    Py_ssize_t q = skip_spaces(t, j);
    int found = read_payment(t, q, r);
    if (found != FAIL) return found;
    for (int g = G_PAYEE_FIRST; g < GROUPS; g++) r->span[g][0] = r->span[g][1] = -1;
    Py_ssize_t end;
    found = read_foreign(t, q, &end);
    if (found == OK) {
        set(r, G_FOREIGN, q, end);
        r->end = end;
        return OK;
    }
    r->end = q;
    Py_UCS4 c = at(t, q);
    if (is_digit(c)) return OK; /* an amount starts here, unread: no group */
    if (is_ascii_letter(c) || is_letter_beyond_ascii(c) || is_sign(c) || c == 0x20AC ||
        is_other_symbol(t, c))
        return DECLINE; /* a currency or a sign could lead an amount */
    set(r, G_NO_AMOUNT, q, q); /* nothing that could start an amount, or the end */
    return OK;
}

static PyObject *read_post(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) ||
        !PyUnicode_Check(args[2]) || !PyUnicode_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "read(text, user, server, other_symbols): four str");
        return NULL;
    }
    PyObject *text = args[0];
    Py_ssize_t user_length, server_length;
    /* The user and server were checked to be lower-case ASCII by the caller. */
    const char *user = PyUnicode_AsUTF8AndSize(args[1], &user_length);
    const char *server = PyUnicode_AsUTF8AndSize(args[2], &server_length);
    if (user == NULL || server == NULL) return NULL;
    if (PyUnicode_READY(text) < 0 || PyUnicode_READY(args[3]) < 0) return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text), args[3]};
    Reading r;
    if (read_command(&t, user, user_length, server, server_length, &r) != OK) Py_RETURN_NONE;
    PyObject *result = PyTuple_New(GROUPS + 2);
    if (result == NULL) return NULL;
    for (int g = 0; g < GROUPS; g++) {
        PyObject *item;
        if (r.span[g][0] < 0) {
            item = Py_NewRef(Py_None);
        } else {
            item = PyUnicode_Substring(text, r.span[g][0], r.span[g][1]);
            if (item == NULL) {
                Py_DECREF(result);
                return NULL;
            }
        }
        PyTuple_SET_ITEM(result, g, item);
    }
    PyObject *verb_end = PyLong_FromSsize_t(r.verb_end), *end = PyLong_FromSsize_t(r.end);
    if (verb_end == NULL || end == NULL) {
        Py_XDECREF(verb_end);
        Py_XDECREF(end);
        Py_DECREF(result);
        return NULL;
    }
    PyTuple_SET_ITEM(result, GROUPS, verb_end);
    PyTuple_SET_ITEM(result, GROUPS + 1, end);
    return result;
}

static PyMethodDef methods[] = {
    {"read", (PyCFunction)(void (*)(void))read_post, METH_FASTCALL,
     "read(text, user, server, other_symbols, /)\n--\n\n"
     "The whole-command expression's groups, verb end and end for text, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_command_reader",
    "The whole-command expression of payez.domain.commands, compiled for common commands.", 0,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__command_reader(void) { return PyModuleDef_Init(&module); }
