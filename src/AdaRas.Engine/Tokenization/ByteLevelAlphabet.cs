using System.Text;

namespace AdaRas.Engine.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: every byte 0..255 has a printable stand-in character, so that byte-level BPE
/// vocabularies are strings ("Ġ" is the space byte 0x20, "Ċ" is 0x0A). Printable Latin-1 bytes stand for
/// themselves; the other 68 bytes map to U+0100 upwards, in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = new char[256];
    static readonly Dictionary<char, byte> CharToByte = new(256);

    static ByteLevelAlphabet()
    {
        int next = 0x100;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            ByteToChar[b] = printable ? (char)b : (char)next++;
            CharToByte[ByteToChar[b]] = (byte)b;
        }
    }

    public static char CharFor(byte b) => ByteToChar[b];

    /// <summary>
    /// The bytes a vocabulary token stands for. A character outside the alphabet (a malformed vocabulary) stands
    /// for its own UTF-8 bytes.
    /// </summary>
    public static byte[] TokenBytes(string token)
    {
        var bytes = new List<byte>(token.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune r in token.EnumerateRunes())
        {
            if (r.IsBmp && CharToByte.TryGetValue((char)r.Value, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            int n = r.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++) bytes.Add(utf8[i]);
        }
        return bytes.ToArray();
    }
}
