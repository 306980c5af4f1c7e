using System.Numerics;
using System.Runtime.InteropServices;

namespace AdaRas.Model;

/// <summary>Finds NaN and infinity in float data (exponent bits all set), vectorised: cheap enough for every decode step.</summary>
internal static class NonFinite
{
    /// <summary>Index of the first NaN or infinity, or -1 when every value is finite.</summary>
    public static int IndexOf(ReadOnlySpan<float> values)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values);
        const uint exponent = 0x7F800000u;
        var mask = new Vector<uint>(exponent);
        int i = 0;
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
            if (Vector.EqualsAny(new Vector<uint>(bits[i..]) & mask, mask)) break;
        for (; i < bits.Length; i++)
            if ((bits[i] & exponent) == exponent) return i;
        return -1;
    }
}

/// <summary>
/// The model's logits carry no distribution: a NaN or infinite logit, or every logit equal (an activation pushed
/// past float range collapses RMSNorm's output to zero). The cause is broken weights or steering far too strong (a
/// huge alpha or pattern weight); generating on would emit token 0 (NUL bytes) as if nothing had happened.
/// </summary>
public sealed class InvalidLogitsException(int position, string what)
    : InputException($"the model's logits at position {position} are unusable ({what}): the weights hold NaN/infinity " +
                     "or steering is far too strong (alpha, pattern weights); nothing was generated from them")
{
    /// <summary>Sequence position whose logits were unusable.</summary>
    public int Position { get; } = position;

    /// <summary>Throws unless <paramref name="logits"/> are finite and not all equal.</summary>
    public static void ThrowIfInvalid(ReadOnlySpan<float> logits, int position)
    {
        if (NonFinite.IndexOf(logits) is var bad and >= 0)
            throw new InvalidLogitsException(position, $"logit of token {bad} is {logits[bad]}");
        if (logits.Length > 1 && !logits.ContainsAnyExcept(logits[0]))
            throw new InvalidLogitsException(position, $"all {logits.Length} logits equal {logits[0]}");
    }
}
