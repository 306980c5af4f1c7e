using System.Text;
using System.Text.RegularExpressions;

namespace AdaRas.Evaluation.Answers;

/// <summary>
/// Decides whether a model's math answer equals the reference. Two stages:
/// <list type="number">
/// <item><see cref="Normalize"/>: the string clean-up of the Hendrycks MATH checker the paper uses
/// (<c>\dfrac</c>/<c>\tfrac</c> to <c>\frac</c>, <c>\frac12</c> to <c>\frac{1}{2}</c>, <c>\sqrt2</c> to
/// <c>\sqrt{2}</c>, no <c>\left</c>/<c>\right</c>, no units in <c>\text{}</c>, no degrees, dollars or percent
/// signs, no spaces, <c>.5</c> to <c>0.5</c>, <c>x=5</c> to <c>5</c>) plus thousands separators,
/// <c>\text{X}</c> unwrapping, <c>(C)</c> to <c>C</c>, base subscripts and unicode math symbols.</item>
/// <item>If the strings still differ, a comparison by value where that is exact and safe: plain numbers,
/// fractions, mixed numbers and <c>a\times10^{b}</c> as exact rationals (so <c>216.0</c> = <c>216</c> =
/// <c>023</c>-style spellings, but <c>0.333</c> != <c>\frac13</c>); tuples, intervals and matrices element by
/// element (bracket kinds must match); bare comma lists and <c>\{...\}</c> sets in any order; unions part by
/// part; single words case-insensitively.</item>
/// </list>
/// Last, <see cref="SymbolicEquivalence"/>: exact algebra (<c>\sqrt{50}</c> = <c>5\sqrt{2}</c>, <c>3-13x</c> =
/// <c>-13x+3</c>), accepted only when both sides parse. Never accepted: digits with spaces between
/// (<c>7 5</c> is not 75) and numbers with qualifier words (<c>5 \text{ or more}</c>, <c>1.5 million</c>).
/// </summary>
internal static class MathEquivalence
{
    public static bool AreEquivalent(string? predicted, string? reference)
    {
        if (predicted is null || reference is null) return false;
        var a = Normalize(predicted);
        var b = Normalize(reference);
        if (a.Length == 0 || b.Length == 0) return false;
        return Same(a, b, depth: 0);
    }

    // ---------------------------------------------------------------- string normalisation

    static readonly (string From, string To)[] Symbols =
    [
        ("\u2212", "-"), ("\u2013", "-"), ("\u00d7", "\\times"), ("\u22c5", "\\cdot"), ("\u00b7", "\\cdot"),
        ("\u03c0", "\\pi"), ("\u221e", "\\infty"), ("\u221a", "\\sqrt"), ("\u2264", "\\le"), ("\u2265", "\\ge"),
        ("\\leq", "\\le"), ("\\geq", "\\ge"), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\cfrac", "\\frac"),
        ("\\displaystyle", ""), ("~", " "), ("{,}", ","),
        ("\\$", ""), ("$", ""), ("\\%", ""), ("%", ""),
        ("^{\\circ}", ""), ("^\\circ", ""), ("\\circ", ""), ("\u00b0", ""), ("^{\\degree}", ""), ("\\degree", ""),
    ];

    // Thin spaces \, \; \: \! and "\ ", but not the second backslash of a matrix row break "\\ ".
    static readonly Regex SpacingCommand = new(@"(?<!\\)\\[,;:! ]", RegexOptions.CultureInvariant);
    static readonly Regex LeftRight = new(@"\\(left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])", RegexOptions.CultureInvariant);
    static readonly Regex TrailingUnit = new(@"\\(text|mbox|mathrm|textrm|textnormal)\{\s*[A-Za-z][A-Za-z\s./]*\}(\^\{?[23]\}?)?\s*$", RegexOptions.CultureInvariant);
    static readonly Regex TextWrapper = new(@"\\(text|textbf|textit|textrm|textnormal|mbox|mathrm|mathbf|mathit|operatorname)\{([^{}]*)\}", RegexOptions.CultureInvariant);
    static readonly Regex BareUnitWords = new(@"^([-+]?[\d.,/]+)\s+[A-Za-z]{2,}(\s+[A-Za-z]+)*\.?$", RegexOptions.CultureInvariant);
    // Words that change what a number means: never stripped as if they were units ("5 or more", "1.5 million").
    static readonly HashSet<string> Qualifiers = new(StringComparer.OrdinalIgnoreCase)
    {
        "or", "and", "more", "less", "least", "most", "than", "fewer", "greater", "over", "under", "about", "approximately",
        "approx", "around", "nearly", "almost", "roughly", "at", "up", "to", "not", "no", "only", "between", "from", "plus",
        "minus", "million", "millions", "billion", "billions", "thousand", "thousands", "hundred", "hundreds", "trillion",
        "trillions", "dozen", "dozens", "percent", "half", "quarter", "times", "squared", "cubed", "inverse", "negative",
    };
    static readonly Regex Word = new(@"[A-Za-z]+", RegexOptions.CultureInvariant);
    static bool HasQualifier(string text) => Word.Matches(text).Any(m => Qualifiers.Contains(m.Value));
    // Digits with only spaces between ("7 5") are not one number; kept apart by a character nothing else uses.
    static readonly Regex DigitSpaceDigit = new(@"(?<=\d)\s+(?=\d)", RegexOptions.CultureInvariant);
    const string DigitSeparator = "\u2423";
    // "-2 and 1", "x=1 or x=-2": a list of solutions.
    static readonly Regex Connective = new(@"\s*,?\s+(and|or)\s+", RegexOptions.CultureInvariant);
    static readonly Regex ENotation = new(@"^(?<m>[+-]?(\d+\.?\d*|\.\d+))[eE](?<e>[+-]?\d{1,4})$", RegexOptions.CultureInvariant);
    static readonly Regex Whitespace = new(@"\s+", RegexOptions.CultureInvariant);
    static readonly Regex ShortLeftSide = new(@"^(?<lhs>[A-Za-z](_\{?[A-Za-z0-9]\}?)?|[A-Za-z]{2,16})(=|\\in(?![A-Za-z]))(?<rhs>[^=]+)$", RegexOptions.CultureInvariant);
    static readonly Regex MissingLeadingZero = new(@"(?<![\d}])\.(?=\d)", RegexOptions.CultureInvariant);
    static readonly Regex SingleCharGroup = new(@"([_^])\{([A-Za-z0-9])\}", RegexOptions.CultureInvariant);
    static readonly Regex BaseSubscript = new(@"_\{([0-9]+)\}", RegexOptions.CultureInvariant);
    static readonly Regex Thousands = new(@"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$", RegexOptions.CultureInvariant);
    static readonly Regex ChoiceInParens = new(@"^\(([A-Za-z])\)$", RegexOptions.CultureInvariant);

    /// <summary>The canonical string form of an answer (see the class comment for the rules).</summary>
    public static string Normalize(string answer)
    {
        var s = answer.Replace("\r", " ").Replace("\n", " ").Trim();
        s = UnwrapBoxes(s);
        s = SpacingCommand.Replace(s, "");
        foreach (var (from, to) in Symbols) s = s.Replace(from, to, StringComparison.Ordinal);
        s = LeftRight.Replace(s, "");

        // Units: "5.4 \text{ cents}", "864 \mbox{ inches}^2", "\frac{270}7\text{ degrees}", "18 dollars".
        for (string before = ""; before != s;)
        {
            before = s;
            var stripped = TrailingUnit.Replace(s, m => HasQualifier(m.Value) ? m.Value : "").TrimEnd();
            if (stripped.Length > 0) s = stripped;
        }
        s = StripBareUnitWords(s);
        for (string before = ""; before != s;) { before = s; s = TextWrapper.Replace(s, "$2"); }
        s = StripBareUnitWords(s); // "\text{160 dollars}"
        s = Connective.Replace(s.Trim(), ",");

        s = DigitSpaceDigit.Replace(s, DigitSeparator);
        s = Whitespace.Replace(s, "");
        s = s.TrimEnd('.');
        s = DropUnmatchedClosingBraces(s);

        s = DropLeftSides(s);

        s = FixSqrt(s);
        s = FixFrac(s);
        s = SingleCharGroup.Replace(s, "$1$2");
        s = BaseSubscript.Replace(s, "_$1");
        s = MissingLeadingZero.Replace(s, "0.");
        if (Thousands.IsMatch(s)) s = s.Replace(",", "");
        var choice = ChoiceInParens.Match(s);
        if (choice.Success) s = choice.Groups[1].Value;
        return s;
    }

    static string StripBareUnitWords(string s)
    {
        var words = BareUnitWords.Match(s.Trim());
        return words.Success && !HasQualifier(words.Value) ? words.Groups[1].Value : s;
    }

    /// <summary>
    /// <c>x=5</c> to <c>5</c>, <c>\text{Total}=540</c> to <c>540</c>; in a list every item must name the same
    /// unknown (<c>x=1,x=-2</c> to <c>1,-2</c>), so a system's solution <c>x=1,y=2</c> keeps its names.
    /// </summary>
    static string DropLeftSides(string s)
    {
        var items = SplitTopLevel(s, ",");
        if (items.Count > 1)
        {
            var matches = items.Select(i => ShortLeftSide.Match(i)).ToList();
            if (matches.All(m => m.Success) && matches.Select(m => m.Groups["lhs"].Value).Distinct().Count() == 1)
                return string.Join(",", matches.Select(m => m.Groups["rhs"].Value));
        }
        var lhs = ShortLeftSide.Match(s);
        return lhs.Success ? lhs.Groups["rhs"].Value : s;
    }

    /// <summary><c>\boxed{X}</c> / <c>\fbox{X}</c> spanning the whole answer becomes X.</summary>
    static string UnwrapBoxes(string s)
    {
        while (true)
        {
            string? command = s.StartsWith("\\boxed", StringComparison.Ordinal) ? "\\boxed"
                : s.StartsWith("\\fbox", StringComparison.Ordinal) ? "\\fbox" : null;
            if (command is null) return s;
            int open = command.Length;
            while (open < s.Length && s[open] == ' ') open++;
            if (open >= s.Length || s[open] != '{') return s;
            var inner = BoxedAnswer.BalancedGroup(s, open, out int close);
            if (inner is null || close != s.Length - 1) return s;
            s = inner.Trim();
        }
    }

    /// <summary>A stray closing brace at the end (e.g. the AMC reference <c>\log_2 \frac{3}{\sqrt{7}}}</c>).</summary>
    static string DropUnmatchedClosingBraces(string s)
    {
        int depth = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\') { i++; continue; }
            if (s[i] == '{') depth++;
            else if (s[i] == '}') depth--;
        }
        while (depth < 0 && s.EndsWith('}')) { s = s[..^1]; depth++; }
        return s;
    }

    /// <summary><c>\sqrt2</c> to <c>\sqrt{2}</c>, <c>\sqrtx</c> to <c>\sqrt{x}</c> (one token after the command).</summary>
    static string FixSqrt(string s)
    {
        const string command = "\\sqrt";
        var sb = new StringBuilder(s.Length + 8);
        int i = 0;
        while (i < s.Length)
        {
            int at = s.IndexOf(command, i, StringComparison.Ordinal);
            if (at < 0) { sb.Append(s, i, s.Length - i); break; }
            int next = at + command.Length;
            sb.Append(s, i, next - i);
            if (next < s.Length && s[next] is not ('{' or '[' or '\\'))
            {
                sb.Append('{').Append(s[next]).Append('}');
                next++;
            }
            i = next;
        }
        return sb.ToString();
    }

    /// <summary><c>\frac12</c>, <c>\frac1{2}</c>, <c>\frac{1}2</c> to <c>\frac{1}{2}</c>.</summary>
    static string FixFrac(string s)
    {
        const string command = "\\frac";
        var sb = new StringBuilder(s.Length + 8);
        int i = 0;
        while (i < s.Length)
        {
            int at = s.IndexOf(command, i, StringComparison.Ordinal);
            if (at < 0) { sb.Append(s, i, s.Length - i); break; }
            sb.Append(s, i, at - i).Append(command);
            int pos = at + command.Length;
            for (int arg = 0; arg < 2 && pos < s.Length; arg++)
            {
                if (s[pos] == '{')
                {
                    var group = BoxedAnswer.BalancedGroup(s, pos, out int close);
                    if (group is null) break;
                    sb.Append('{').Append(FixFrac(group)).Append('}');
                    pos = close + 1;
                }
                else if (s[pos] == '\\')
                {
                    int end = pos + 1;
                    while (end < s.Length && char.IsLetter(s[end])) end++;
                    sb.Append('{').Append(s, pos, end - pos).Append('}');
                    pos = end;
                }
                else
                {
                    sb.Append('{').Append(s[pos]).Append('}');
                    pos++;
                }
            }
            i = pos;
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------- comparison by value

    const int MaxDepth = 6;

    static bool Same(string a, string b, int depth)
    {
        if (a == b) return true;
        if (depth > MaxDepth) return false;
        if (TryNumber(a, out var x) && TryNumber(b, out var y)) return x == y;
        if (IsWord(a) && IsWord(b)) return string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

        var ma = Matrix(a);
        var mb = Matrix(b);
        if (ma is not null || mb is not null)
            return ma is not null && mb is not null && ma.Count == mb.Count
                && ma.Zip(mb).All(r => r.First.Count == r.Second.Count && r.First.Zip(r.Second).All(e => Same(e.First, e.Second, depth + 1)));

        var ua = SplitTopLevel(a, "\\cup");
        var ub = SplitTopLevel(b, "\\cup");
        if (ua.Count > 1 || ub.Count > 1)
            return ua.Count == ub.Count && ua.Zip(ub).All(p => Same(p.First, p.Second, depth + 1));

        if (InequalityAsInterval(a) is { } ia && ia != a) return Same(ia, b, depth + 1);
        if (InequalityAsInterval(b) is { } ib && ib != b) return Same(a, ib, depth + 1);

        var sa = Sequence(a);
        var sb = Sequence(b);
        if (sa is not null && sb is not null)
        {
            // A set and a bare list of solutions are both unordered: \{3,5,7\} = 3,5,7.
            bool setAndList = !sa.Value.Ordered && !sb.Value.Ordered;
            if ((!setAndList && (sa.Value.Open != sb.Value.Open || sa.Value.Close != sb.Value.Close)) || sa.Value.Items.Count != sb.Value.Items.Count)
                return false;
            return sa.Value.Ordered
                ? sa.Value.Items.Zip(sb.Value.Items).All(p => Same(p.First, p.Second, depth + 1))
                : SameMultiset(sa.Value.Items, sb.Value.Items, depth + 1);
        }
        if (sa is not null || sb is not null) return false;
        return SymbolicEquivalence.AreEqual(a, b);
    }

    static readonly Regex OneSided = new(@"^(?<v>[A-Za-z])(?<op><|>|\\le|\\ge|\\leq|\\geq|\\lt|\\gt)(?<x>[^<>=]+)$", RegexOptions.CultureInvariant);
    static readonly Regex TwoSided = new(@"^(?<lo>[^<>=]+)(?<op1><|\\le|\\leq|\\lt)(?<v>[A-Za-z])(?<op2><|\\le|\\leq|\\lt)(?<hi>[^<>=]+)$", RegexOptions.CultureInvariant);

    /// <summary><c>x&gt;2</c> as <c>(2,\infty)</c>, <c>-1\le x&lt;3</c> as <c>[-1,3)</c>; null when it is not an inequality in one letter.</summary>
    static string? InequalityAsInterval(string s)
    {
        var m = OneSided.Match(s);
        if (m.Success)
        {
            var x = m.Groups["x"].Value;
            return m.Groups["op"].Value switch
            {
                ">" or "\\gt" => $"({x},\\infty)",
                "\\ge" or "\\geq" => $"[{x},\\infty)",
                "<" or "\\lt" => $"(-\\infty,{x})",
                _ => $"(-\\infty,{x}]",
            };
        }
        m = TwoSided.Match(s);
        if (m.Success)
            return (m.Groups["op1"].Value == "<" || m.Groups["op1"].Value == "\\lt" ? "(" : "[") + m.Groups["lo"].Value + "," + m.Groups["hi"].Value
                + (m.Groups["op2"].Value == "<" || m.Groups["op2"].Value == "\\lt" ? ")" : "]");
        return null;
    }

    static bool IsWord(string s) => s.Length >= 2 && s.All(char.IsLetter);

    static readonly Regex Fraction = new(@"^(?<sign>[+-]?)\\frac\{(?<n>[+-]?[\d.]+)\}\{(?<d>[+-]?[\d.]+)\}$", RegexOptions.CultureInvariant);
    static readonly Regex Mixed = new(@"^(?<sign>[+-]?)(?<whole>\d+)\\frac\{(?<n>\d+)\}\{(?<d>\d+)\}$", RegexOptions.CultureInvariant);
    static readonly Regex Slash = new(@"^(?<n>[+-]?[\d.]+)/(?<d>[+-]?[\d.]+)$", RegexOptions.CultureInvariant);
    static readonly Regex Scientific = new(@"^(?<m>[+-]?[\d.]+)(\\times|\\cdot)10\^(\{(?<e>[+-]?\d{1,4})\}|(?<e>\d))$", RegexOptions.CultureInvariant);

    /// <summary>Plain decimals, <c>\frac{a}{b}</c>, <c>a/b</c>, mixed numbers <c>1\frac{4}{5}</c>, and <c>m\times10^{e}</c>.</summary>
    static bool TryNumber(string s, out Rational value)
    {
        value = default;
        if (Rational.TryParseDecimal(s, out value)) return true;
        Match m;
        if ((m = Fraction.Match(s)).Success || (m = Slash.Match(s)).Success)
        {
            if (!Rational.TryParseDecimal(m.Groups["n"].Value, out var n) || !Rational.TryParseDecimal(m.Groups["d"].Value, out var d)
                || d.Numerator.IsZero) return false;
            value = n * new Rational(d.Denominator, d.Numerator);
            if (m.Groups["sign"].Value == "-") value = value * new Rational(-1, 1);
            return true;
        }
        if ((m = Mixed.Match(s)).Success)
        {
            var whole = Rational.TryParseDecimal(m.Groups["whole"].Value, out var w) ? w : default;
            var n = System.Numerics.BigInteger.Parse(m.Groups["n"].Value);
            var d = System.Numerics.BigInteger.Parse(m.Groups["d"].Value);
            if (d.IsZero) return false;
            value = whole + new Rational(n, d);
            if (m.Groups["sign"].Value == "-") value = value * new Rational(-1, 1);
            return true;
        }
        if (((m = Scientific.Match(s)).Success || (m = ENotation.Match(s)).Success) && Rational.TryParseDecimal(m.Groups["m"].Value, out var mantissa))
        {
            value = mantissa * Rational.PowerOfTen(int.Parse(m.Groups["e"].Value, System.Globalization.CultureInfo.InvariantCulture));
            return true;
        }
        return false;
    }

    static readonly Regex MatrixForm = new(@"^\\begin\{(p|b|v|B|V)?matrix\}(?<body>.*)\\end\{(p|b|v|B|V)?matrix\}$", RegexOptions.CultureInvariant | RegexOptions.Singleline);

    /// <summary>Rows (split at <c>\\</c>) of cells (split at <c>&amp;</c>); null if not a matrix.</summary>
    static List<List<string>>? Matrix(string s)
    {
        var m = MatrixForm.Match(s);
        if (!m.Success) return null;
        var rows = m.Groups["body"].Value.Split("\\\\").Where(r => r.Length > 0);
        return rows.Select(r => r.Split('&').ToList()).ToList();
    }

    readonly record struct Seq(string Open, string Close, IReadOnlyList<string> Items, bool Ordered);

    /// <summary>
    /// A tuple/interval <c>(a,b]</c>, a set <c>\{a,b\}</c> or a bare list <c>a,b</c>; null for a single item.
    /// Tuples and intervals are ordered; sets and bare lists ("enter all solutions") are not.
    /// </summary>
    static Seq? Sequence(string s)
    {
        if (s.StartsWith("\\{", StringComparison.Ordinal) && s.EndsWith("\\}", StringComparison.Ordinal) && s.Length >= 4
            && Balanced(s[2..^2]))
            return new Seq("{", "}", SplitTopLevel(s[2..^2], ","), Ordered: false);
        if (s.Length >= 2 && s[0] is '(' or '[' && s[^1] is ')' or ']' && Balanced(s[1..^1]))
        {
            var items = SplitTopLevel(s[1..^1], ",");
            if (items.Count >= 2) return new Seq(s[0].ToString(), s[^1].ToString(), items, Ordered: true);
            return null;
        }
        var bare = SplitTopLevel(s, ",");
        return bare.Count >= 2 ? new Seq("", "", bare, Ordered: false) : null;
    }

    /// <summary>True when <paramref name="inner"/> is balanced by itself, i.e. the outer brackets pair with each
    /// other (so <c>(1,2)\cup(3,4)</c> is not one bracketed sequence).</summary>
    static bool Balanced(string inner)
    {
        int depth = 0;
        for (int i = 0; i < inner.Length; i++)
        {
            char c = inner[i];
            if (c == '\\')
            {
                if (i + 1 < inner.Length && inner[i + 1] is '{' or '}') depth += inner[++i] == '{' ? 1 : -1;
                else continue;
            }
            else if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            if (depth < 0) return false;
        }
        return depth == 0;
    }

    /// <summary>Splits at <paramref name="separator"/> outside any brackets or braces.</summary>
    static List<string> SplitTopLevel(string s, string separator)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\' && i + 1 < s.Length && s[i + 1] is '{' or '}')
            {
                depth += s[i + 1] == '{' ? 1 : -1;
                i++;
                continue;
            }
            if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (depth == 0 && string.CompareOrdinal(s, i, separator, 0, separator.Length) == 0)
            {
                parts.Add(s[start..i]);
                start = i + separator.Length;
                i = start - 1;
            }
        }
        parts.Add(s[start..]);
        return parts;
    }

    /// <summary>
    /// Same items in any order. Greedy matching is exact because <see cref="Same"/> behaves as an equivalence
    /// relation, and it stays quadratic (a backtracking search is factorial on long lists of near-equal items).
    /// </summary>
    static bool SameMultiset(IReadOnlyList<string> a, IReadOnlyList<string> b, int depth)
    {
        if (a.Count > 64) return a.Order(StringComparer.Ordinal).SequenceEqual(b.Order(StringComparer.Ordinal));
        var used = new bool[b.Count];
        foreach (var item in a)
        {
            int j = 0;
            while (j < b.Count && (used[j] || !Same(item, b[j], depth))) j++;
            if (j == b.Count) return false;
            used[j] = true;
        }
        return true;
    }
}
