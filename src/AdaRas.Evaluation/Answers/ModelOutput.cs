namespace AdaRas.Evaluation.Answers;

/// <summary>Splits a generated text into its thinking and its final content.</summary>
internal static class ModelOutput
{
    public const string ThinkOpen = "<think>";
    public const string ThinkClose = "</think>";

    /// <summary>A thought was opened and never closed: the generation stopped (token limit) mid-thought.</summary>
    public static bool IsUnfinished(string text) =>
        text.Contains(ThinkOpen, StringComparison.Ordinal) && !text.Contains(ThinkClose, StringComparison.Ordinal);

    /// <summary>
    /// The text after the last <c>&lt;/think&gt;</c>. Without one: if a <c>&lt;think&gt;</c> was opened the
    /// generation stopped mid-thought and there is no final content (empty string), so a provisional
    /// <c>\boxed{}</c> inside an unfinished thought does not count; if no tag appears at all (thinking mode
    /// off) the whole text is the final content.
    /// <paramref name="unfinishedThoughtCounts"/> reproduces the paper's <c>text.split("&lt;/think&gt;")[-1]</c>,
    /// which scores the whole text when the thought never closed.
    /// </summary>
    public static string FinalContent(string text, bool unfinishedThoughtCounts = false)
    {
        int close = text.LastIndexOf(ThinkClose, StringComparison.Ordinal);
        if (close >= 0) return text[(close + ThinkClose.Length)..];
        if (!unfinishedThoughtCounts && text.Contains(ThinkOpen, StringComparison.Ordinal)) return "";
        return text;
    }
}
