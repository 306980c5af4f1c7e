using System.Numerics;
using System.Runtime.InteropServices;

namespace AdaRas.Model;

/// <summary>Finds NaN and infinity in float data (exponent bits all set), vectorised: cheap enough for every decode step.</summary>
public static class NonFinite
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
/// The model computed NaN or infinite logits: its weights are broken or steering pushed the activations past
/// float range (a huge alpha or pattern weight). Generating on would emit token 0 (NUL bytes) as if nothing happened.
/// </summary>
public sealed class NonFiniteLogitsException(int position, int tokenId, float value)
    : InputException($"the model produced a non-finite logit ({value} for token {tokenId}) at position {position}: " +
                     "the weights hold NaN/infinity or steering is far too strong (alpha, pattern weights); nothing was generated from it")
{
    public int Position { get; } = position;
}
