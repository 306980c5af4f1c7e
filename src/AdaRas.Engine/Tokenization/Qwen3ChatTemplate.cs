namespace AdaRas.Engine.Tokenization;

/// <summary>A generated answer split at its last <c>&lt;/think&gt;</c>.</summary>
/// <param name="Thinking">The reasoning: text before the last &lt;/think&gt;, without a leading &lt;think&gt;, newlines trimmed. Empty when there is no &lt;/think&gt;.</param>
/// <param name="Content">The final answer: text after the last &lt;/think&gt; (all of it when there is none), newlines trimmed.</param>
public readonly record struct ThinkingSplit(string Thinking, string Content);

/// <summary>
/// Qwen3's chat format, as the chat template in Qwen3's tokenizer_config.json renders it, for the conversations
/// the engine sends: an optional system message and one user message, without tools. No Jinja engine: the
/// template's output for these cases is fixed text around the messages.
/// </summary>
public static class Qwen3ChatTemplate
{
    /// <summary>Opens a chat turn.</summary>
    public const string ImStart = "<|im_start|>";
    /// <summary>Closes a chat turn (a stop token).</summary>
    public const string ImEnd = "<|im_end|>";
    /// <summary>Opens the reasoning.</summary>
    public const string ThinkStart = "<think>";
    /// <summary>Closes the reasoning; the answer follows.</summary>
    public const string ThinkEnd = "</think>";

    /// <summary>
    /// The prompt text (encode it with <see cref="QwenTokenizer.Encode"/>; the markers become their token ids).
    /// Messages are inserted verbatim, as the template does.
    /// </summary>
    /// <param name="userMessage">The user's turn.</param>
    /// <param name="systemMessage">An optional system turn, rendered first; null for none.</param>
    /// <param name="enableThinking">False renders the template's enable_thinking=false: an empty think block
    /// after the assistant header, so the model answers without reasoning. True (the template's default) adds nothing.</param>
    /// <param name="addGenerationPrompt">Append the assistant header that the model continues from.</param>
    public static string Render(string userMessage, string? systemMessage = null, bool enableThinking = true,
        bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(userMessage);
        var prompt = new System.Text.StringBuilder();
        if (systemMessage is not null) prompt.Append(ImStart).Append("system\n").Append(systemMessage).Append(ImEnd).Append('\n');
        prompt.Append(ImStart).Append("user\n").Append(userMessage).Append(ImEnd).Append('\n');
        if (addGenerationPrompt)
        {
            prompt.Append(ImStart).Append("assistant\n");
            if (!enableThinking) prompt.Append(ThinkStart).Append("\n\n").Append(ThinkEnd).Append("\n\n");
        }
        return prompt.ToString();
    }

    /// <summary>
    /// Splits generated text (decoded with special tokens skipped, or at least without the prompt) the way
    /// Qwen's own example code does: the answer is what follows the LAST &lt;/think&gt;, with newlines stripped
    /// from both ends; the reasoning is what precedes it. Text without &lt;/think&gt; is all answer.
    /// </summary>
    public static ThinkingSplit SplitThinking(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        int end = generated.LastIndexOf(ThinkEnd, StringComparison.Ordinal);
        if (end < 0) return new ThinkingSplit("", generated.Trim('\n'));

        string content = generated[(end + ThinkEnd.Length)..].Trim('\n');
        string thinking = generated[..end].Trim('\n');
        if (thinking.StartsWith(ThinkStart, StringComparison.Ordinal)) thinking = thinking[ThinkStart.Length..].Trim('\n');
        return new ThinkingSplit(thinking, content);
    }
}
