using AdaRas.Engine.Tokenization;

namespace AdaRas.Serving.Execution;

/// <summary>A piece of the answer as it streams: reasoning (inside &lt;think&gt;) or content (after &lt;/think&gt;).</summary>
public readonly struct TextDelta(string reasoning, string content)
{
    readonly string? _reasoning = reasoning, _content = content;
    /// <summary>Text inside the thought (empty when none).</summary>
    public string Reasoning => _reasoning ?? "";
    /// <summary>Text of the answer after the thought (empty when none).</summary>
    public string Content => _content ?? "";
    /// <summary>True when the piece carries no text at all.</summary>
    public bool IsEmpty => Reasoning.Length == 0 && Content.Length == 0;
}

/// <summary>
/// Turns generated tokens into streamed text the way the chat endpoint reports it: the &lt;think&gt; and
/// &lt;/think&gt; markers are dropped, what lies between them is reasoning and the rest content, so
/// "&lt;think&gt;" + reasoning + "&lt;/think&gt;" + content is exactly the decoded text. Stop strings end the
/// content; text that could be the start of one is held back until it cannot. Completions use one channel
/// (no thinking split). Streamed deltas concatenate to the non-streamed answer: both come from here.
/// </summary>
sealed class OutputText
{
    readonly TokenizerStream _decoder;
    readonly int? _thinkStart, _thinkEnd;
    readonly string[] _stop;
    readonly System.Text.StringBuilder _held = new();
    bool _inThinking, _anyContent;

    public bool HitStop { get; private set; }

    public OutputText(QwenTokenizer tokenizer, bool splitThinking, IReadOnlyList<string> stop)
    {
        _decoder = tokenizer.CreateStream();
        if (splitThinking)
        {
            _thinkStart = tokenizer.SpecialTokens.TryGetValue(Qwen3ChatTemplate.ThinkStart, out int s) ? s : null;
            _thinkEnd = tokenizer.SpecialTokens.TryGetValue(Qwen3ChatTemplate.ThinkEnd, out int e) ? e : null;
        }
        _stop = stop.Where(s => s.Length > 0).ToArray();
    }

    public TextDelta Add(int token)
    {
        if (HitStop) return default;
        if (token == _thinkStart && !_inThinking && !_anyContent)
        {
            // The think block opens: flush what is pending (nothing but partial bytes) and switch channel.
            _decoder.Decode(token);
            _inThinking = true;
            return default;
        }
        if (token == _thinkEnd && _inThinking)
        {
            _decoder.Decode(token);
            _inThinking = false;
            return default;
        }
        string text = _decoder.Decode(token);
        return _inThinking ? new TextDelta(text, "") : Content(text, final: false);
    }

    /// <summary>Ends the stream: partial characters and held-back text come out.</summary>
    public TextDelta Flush()
    {
        if (HitStop) return default;
        string text = _decoder.Flush();
        return _inThinking ? new TextDelta(text, "") : Content(text, final: true);
    }

    TextDelta Content(string text, bool final)
    {
        if (_stop.Length == 0) { _anyContent |= text.Length > 0; return new TextDelta("", text); }
        _held.Append(text);
        var all = _held.ToString();
        int cut = -1;
        foreach (var s in _stop)
        {
            int i = all.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            HitStop = true;
            _held.Clear();
            _anyContent |= cut > 0;
            return new TextDelta("", all[..cut]);
        }
        int keep = final ? 0 : HeldSuffix(all);
        _held.Clear().Append(all, all.Length - keep, keep);
        _anyContent |= all.Length - keep > 0;
        return new TextDelta("", all[..^keep]);
    }

    /// <summary>The longest suffix of <paramref name="text"/> that is a proper prefix of a stop string.</summary>
    int HeldSuffix(string text)
    {
        int best = 0;
        foreach (var s in _stop)
            for (int n = Math.Min(s.Length - 1, text.Length); n > best; n--)
                if (string.CompareOrdinal(text, text.Length - n, s, 0, n) == 0) { best = n; break; }
        return best;
    }
}
