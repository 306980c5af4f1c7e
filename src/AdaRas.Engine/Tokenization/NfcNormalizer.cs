using System.Globalization;
using System.Text;
using MlNormalizer = Microsoft.ML.Tokenizers.Normalizer;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// Unicode Normalization Form C (UAX #15), managed, for the tokenizer's <c>"normalizer": {"type": "NFC"}</c> step.
/// </summary>
/// <remarks>
/// Why not <see cref="string.Normalize()"/>: the project runs with InvariantGlobalization, where it silently returns
/// its input unchanged, and otherwise its result follows the host's ICU version. Token ids must not depend on the
/// machine, so the data (canonical decompositions, combining classes, composition exclusions) ships with the engine
/// in data/unicode/UnicodeNfcData.txt (embedded), generated from the Unicode Character Database by tools/unicode-nfc/generate.sh.
/// </remarks>
internal sealed class NfcNormalizer : MlNormalizer
{
    public static NfcNormalizer Instance { get; } = new();

    // Hangul syllables compose and decompose algorithmically (Unicode ch. 3.12), not through the tables.
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    readonly Dictionary<int, byte> _combiningClass = new();
    readonly Dictionary<int, int[]> _decomposition = new();
    readonly Dictionary<long, int> _composition = new();

    NfcNormalizer()
    {
        var excluded = new List<(int First, int Last)>();
        using var stream = typeof(NfcNormalizer).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from AdaRas.Engine");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            string[] f = line.Split(' ');
            int cp = Hex(f[1]);
            switch (f[0])
            {
                case "c": _combiningClass[cp] = byte.Parse(f[2], CultureInfo.InvariantCulture); break;
                case "d": _decomposition[cp] = f.Skip(2).Select(Hex).ToArray(); break;
                case "x": excluded.Add((cp, Hex(f[2]))); break;
                default: throw new InvalidDataException($"{ResourceName}: unknown line '{line}'");
            }
        }

        // Primary composites: two-character canonical decompositions not excluded from composition.
        foreach (var (cp, parts) in _decomposition)
        {
            if (parts.Length == 2 && !excluded.Any(r => cp >= r.First && cp <= r.Last))
                _composition[Key(parts[0], parts[1])] = cp;
        }
    }

    const string ResourceName = "AdaRas.Engine.Tokenization.UnicodeNfcData.txt";

    static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    static long Key(int a, int b) => ((long)a << 21) | (uint)b;

    public override string Normalize(string original) =>
        IsTriviallyNfc(original) ? original : NormalizeCore(original);

    public override string Normalize(ReadOnlySpan<char> original) =>
        IsTriviallyNfc(original) ? original.ToString() : NormalizeCore(original);

    /// <summary>Text below U+0300 (the first combining mark) is NFC already: the common case costs one scan.</summary>
    static bool IsTriviallyNfc(ReadOnlySpan<char> s) => !s.ContainsAnyInRange('\u0300', '\uffff');

    string NormalizeCore(ReadOnlySpan<char> s)
    {
        // 1. Full canonical decomposition. Lone surrogates pass through unchanged (as U+FFFD would lose them).
        var cps = new List<int>(s.Length + 8);
        for (int i = 0; i < s.Length;)
        {
            if (Rune.DecodeFromUtf16(s[i..], out Rune rune, out int used) == System.Buffers.OperationStatus.Done)
                Decompose(rune.Value, cps);
            else
                cps.Add(s[i]);
            i += used;
        }

        // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 1; i < cps.Count; i++)
        {
            int cc = Ccc(cps[i]);
            if (cc == 0) continue;
            int cp = cps[i], j = i - 1;
            for (; j >= 0 && Ccc(cps[j]) > cc; j--) cps[j + 1] = cps[j];
            cps[j + 1] = cp;
        }

        // 3. Canonical composition: each character composes with the last starter unless blocked.
        if (cps.Count > 0)
        {
            int starterPos = 0, starter = cps[0], outPos = 1;
            int lastClass = Ccc(starter) == 0 ? 0 : 256; // text that opens with a non-starter has nothing to compose with
            for (int i = 1; i < cps.Count; i++)
            {
                int ch = cps[i], chClass = Ccc(ch);
                if ((lastClass < chClass || lastClass == 0) && TryCompose(starter, ch, out int composite))
                {
                    cps[starterPos] = starter = composite;
                    continue;
                }
                if (chClass == 0) { starterPos = outPos; starter = ch; }
                lastClass = chClass;
                cps[outPos++] = ch;
            }
            cps.RemoveRange(outPos, cps.Count - outPos);
        }

        var sb = new StringBuilder(cps.Count + 8);
        foreach (int cp in cps)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp);
            else sb.Append(new Rune(cp).ToString());
        }
        return sb.ToString();
    }

    void Decompose(int cp, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int s = cp - SBase;
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) into.Add(TBase + s % TCount);
            return;
        }
        if (_decomposition.TryGetValue(cp, out int[]? parts))
        {
            foreach (int p in parts) Decompose(p, into);
            return;
        }
        into.Add(cp);
    }

    bool TryCompose(int a, int b, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        return _composition.TryGetValue(Key(a, b), out composite);
    }

    int Ccc(int cp) => _combiningClass.TryGetValue(cp, out byte c) ? c : 0;
}
