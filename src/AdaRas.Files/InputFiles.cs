using System.Runtime.InteropServices;

namespace AdaRas.Files;

/// <summary>
/// Checks on a path before it is opened for reading. Opening a FIFO blocks until someone writes to it, and a
/// device such as /dev/zero never ends: either would hang a command that expects a file, so they are refused.
/// </summary>
internal static class InputFiles
{
    /// <summary>Throws unless <paramref name="path"/> exists and is a regular file (symbolic links are followed).</summary>
    public static void RequireRegularFile(string path, string what = "file")
    {
        if (Directory.Exists(path)) throw new InputException(path, null, $"is a folder, not a {what}");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: {what} not found", path);
        if (FileType(path) is { } type && type != RegularFile)
            throw new InputException(path, null, $"is not a regular file ({Describe(type)}); give a {what}");
    }

    const int TypeMask = 0xF000, RegularFile = 0x8000;

    static string Describe(int type) => type switch
    {
        0x1000 => "a FIFO, which would block until written",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => $"file type 0{type >> 12:o}",
    };

    /// <summary>The S_IFMT bits of the file's mode via statx (same layout on every Linux architecture); null elsewhere.</summary>
    static int? FileType(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        Span<byte> buffer = stackalloc byte[256];   // struct statx is 256 bytes
        try
        {
            unsafe
            {
                fixed (byte* b = buffer)
                    if (statx(AtFdCwd, path, 0, StatxType, b) != 0) return null;
            }
        }
        catch (EntryPointNotFoundException) { return null; }   // a libc without statx (glibc < 2.28)
        catch (DllNotFoundException) { return null; }
        ushort mode = BitConverter.ToUInt16(buffer[28..30]);  // stx_mode
        return mode & TypeMask;
    }

    const int AtFdCwd = -100;
    const uint StatxType = 0x1;

    [DllImport("libc", SetLastError = true)]
    static extern unsafe int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);
}
