using System.Text;

namespace AdaRas.Cli;

/// <summary>
/// Stderr as the commands see it: remembers whether the last thing written ended a line, so an error that
/// interrupts a "\r"-updated progress line starts on a line of its own (scripts look for lines starting "error: ").
/// </summary>
sealed class LineTrackingWriter(TextWriter inner) : TextWriter
{
    public bool AtLineStart { get; private set; } = true;
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        inner.Write(value);
        AtLineStart = value == '\n';
    }

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        inner.Write(value);
        AtLineStart = value[^1] == '\n';
    }

    public override void Write(char[] buffer, int index, int count)
    {
        if (count == 0) return;
        inner.Write(buffer, index, count);
        AtLineStart = buffer[index + count - 1] == '\n';
    }

    public override void WriteLine(string? value)
    {
        inner.WriteLine(value);
        AtLineStart = true;
    }

    public override void Flush() => inner.Flush();
}
