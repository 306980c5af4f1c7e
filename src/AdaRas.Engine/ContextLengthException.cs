using AdaRas.Model;

namespace AdaRas.Engine;

/// <summary>
/// An input does not fit: more tokens than the model's context (or the generator's capacity). A property of the
/// input, not a bug, so callers that process many inputs (an eval) can mark that one failed and go on.
/// </summary>
public sealed class ContextLengthException(int needed, int limit, string problem) : InputException(problem)
{
    /// <summary>Tokens the input needs.</summary>
    public int Needed { get; } = needed;
    /// <summary>Tokens that fit.</summary>
    public int Limit { get; } = limit;
}
