namespace AdaRas.Tests.Evaluation;

/// <summary>
/// An independent oracle: the paper's math grading as written in the Hendrycks MATH code it uses
/// (<c>is_equiv</c> over <c>_strip_string</c>, <c>last_boxed_only_string</c>, <c>remove_boxed</c>), with the
/// answer taken from <c>text.split("&lt;/think&gt;")[-1]</c>. A rule-for-rule rendering of the Python semantics,
/// including its failure mode: any exception inside the clean-up falls back to comparing the raw strings.
/// Used only to compare against; the project's checker is <c>MathEquivalence</c>.
/// </summary>
static class PaperMathGrader
{
    sealed class PythonError : Exception;

    /// <summary><c>is_equiv(str1, str2)</c>.</summary>
    public static bool IsEquiv(string? a, string? b)
    {
        if (a is null && b is null) return true;
        if (a is null || b is null) return false;
        try { return StripString(a) == StripString(b); }
        catch (PythonError) { return a == b; }
    }

    /// <summary>The whole scoring of one output: last box of the text after the last <c>&lt;/think&gt;</c>, then <see cref="IsEquiv"/>.</summary>
    public static bool Score(string modelText, string reference)
    {
        var parts = modelText.Split("</think>");
        var answer = RemoveBoxed(LastBoxedOnlyString(parts[^1]));
        return answer is not null && IsEquiv(answer, reference);
    }

    public static string? LastBoxedOnlyString(string s)
    {
        int idx = s.LastIndexOf("\\boxed", StringComparison.Ordinal);
        if (idx < 0)
        {
            idx = s.LastIndexOf("\\fbox", StringComparison.Ordinal);
            if (idx < 0) return null;
        }
        int open = 0;
        for (int i = idx; i < s.Length; i++)
        {
            if (s[i] == '{') open++;
            if (s[i] == '}' && --open == 0) return s[idx..(i + 1)];
        }
        return null;
    }

    public static string? RemoveBoxed(string? s)
    {
        const string left = "\\boxed{";
        if (s is null || !s.StartsWith(left, StringComparison.Ordinal) || !s.EndsWith('}')) return null;
        return s[left.Length..^1];
    }

    public static string StripString(string s)
    {
        s = s.Replace("\n", "");
        s = s.Replace("\\!", "");
        s = s.Replace("\\\\", "\\");
        s = s.Replace("tfrac", "frac").Replace("dfrac", "frac");
        s = s.Replace("\\left", "").Replace("\\right", "");
        s = s.Replace("^{\\circ}", "").Replace("^\\circ", "");
        s = s.Replace("\\$", "");
        s = RemoveRightUnits(s);
        s = s.Replace("\\%", ""); // both of the original's replace calls remove backslash-percent
        s = s.Replace(" .", " 0.").Replace("{.", "{0.");
        if (s.Length == 0) return s;
        if (s[0] == '.') s = "0" + s;
        var eq = s.Split('=');
        if (eq.Length == 2 && eq[0].Length <= 2) s = eq[1];
        s = FixSqrt(s);
        s = s.Replace(" ", "");
        s = FixFracs(s);
        if (s == "0.5") s = "\\frac{1}{2}";
        s = FixASlashB(s);
        return s;
    }

    static string RemoveRightUnits(string s)
    {
        if (!s.Contains("\\text{ ", StringComparison.Ordinal)) return s;
        var splits = s.Split("\\text{ ");
        if (splits.Length != 2) throw new PythonError(); // assert len(splits) == 2
        return splits[0];
    }

    static string FixSqrt(string s)
    {
        if (!s.Contains("\\sqrt", StringComparison.Ordinal)) return s;
        var splits = s.Split("\\sqrt");
        var result = splits[0];
        foreach (var split in splits.Skip(1))
        {
            if (split.Length == 0) throw new PythonError(); // split[0] on ""
            result += split[0] != '{' ? "\\sqrt{" + split[0] + "}" + split[1..] : "\\sqrt" + split;
        }
        return result;
    }

    static string FixFracs(string s)
    {
        var substrs = s.Split("\\frac");
        var result = substrs[0];
        foreach (var sub in substrs.Skip(1))
        {
            result += "\\frac";
            if (sub.Length == 0) throw new PythonError(); // substr[0] on ""
            if (sub[0] == '{') { result += sub; continue; }
            if (sub.Length < 2) return s;
            char a = sub[0], b = sub[1];
            if (b != '{') result += "{" + a + "}{" + b + "}" + sub[2..];
            else result += "{" + a + "}" + b + sub[2..];
        }
        return result;
    }

    /// <summary><c>int(a)</c>, <c>int(b)</c> and <c>string == f"{a}/{b}"</c>: both canonical integers.</summary>
    static string FixASlashB(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2) return s;
        return IsCanonicalInt(parts[0]) && IsCanonicalInt(parts[1]) ? "\\frac{" + parts[0] + "}{" + parts[1] + "}" : s;
    }

    static bool IsCanonicalInt(string t) =>
        t == "0" || System.Text.RegularExpressions.Regex.IsMatch(t, @"^-?[1-9][0-9]*$");
}
