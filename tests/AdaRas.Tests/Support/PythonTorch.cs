using System.Diagnostics;

namespace AdaRas.Tests.Support;

/// <summary>Debian's python3-torch (installed for /usr/bin/python3 by tools/test.sh), used as an independent oracle.</summary>
public static class PythonTorch
{
    public const string Interpreter = "/usr/bin/python3";

    static readonly Lazy<bool> IsAvailable = new(() =>
    {
        if (!File.Exists(Interpreter)) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Interpreter, ["-c", "import torch"]) { RedirectStandardError = true })!;
            p.WaitForExit(60_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    public static bool Available => IsAvailable.Value;
}
