using System.IO;

namespace SharpMM.Cli;

/// <summary>Reads the files commands take as input (--map FILE, a kernel log) with a cap on
/// what is read, so that a device or a huge file is refused by name instead of filling memory.</summary>
internal static class InputFile
{
    /// <summary>The whole file, at most <paramref name="maxBytes"/>. Refuses with a
    /// <see cref="UsageException"/> naming the file: a directory, something that is not a regular
    /// file (a device or pipe reports no size and yields data), a file over the limit, an empty
    /// file. <paramref name="what"/> names the kind of file in the messages.</summary>
    public static byte[] ReadAll(string path, long maxBytes, string what)
    {
        if (Directory.Exists(path)) throw new UsageException($"{path}: is a directory, not {what}");
        if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long size = fs.Length;
        if (size > maxBytes)
            throw new UsageException($"{path}: {CliValues.FormatSize((ulong)size)} is more than {what} may hold ({CliValues.FormatSize((ulong)maxBytes)})");
        // One byte more than the size the file system gave: a regular file has no more.
        var buffer = new byte[size + 1];
        int total = 0, n;
        while (total < buffer.Length && (n = fs.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        if (total > size) throw new UsageException($"{path}: not a regular file (it gives more bytes than its size says)");
        if (total == 0) throw new UsageException($"{path}: file is empty");
        return buffer[..total];
    }
}
