using System.Diagnostics;

namespace AdaRas.Tests.Tokenization;

/// <summary>GPT-2's byte-to-symbol map, written out for the tests independently of the engine's.</summary>
static class ByteLevelSymbols
{
    public static string Of(byte b)
    {
        int n = 0;
        for (int x = 0; x < 256; x++)
        {
            bool printable = x is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            if (x == b) return ((char)(printable ? x : 256 + n)).ToString();
            if (!printable) n++;
        }
        throw new UnreachableException();
    }
}
