using System.IO;

namespace SharpMM.Cli;

/// <summary>
/// What `workload --store FILE` may write to: a new file, an empty one, or a SharpMM store file;
/// anything else only with --force (a text file must not silently become 68 MiB of pages).
/// </summary>
internal static class StoreFileGuard
{
    /// <summary>Throws <see cref="UsageException"/> naming the file when it may not be used.</summary>
    public static void CheckMayUse(string path, bool force)
    {
        if (Directory.Exists(path)) throw new UsageException($"--store: {path} is a directory");
        var info = new FileInfo(path);
        if (!info.Exists || info.Length == 0) return;
        if (IsStoreFile(path)) return;
        if (!force) throw new UsageException($"--store: {path} exists and is not a SharpMM store file (give --force to replace it)");
        info.Delete();
    }

    /// <summary>
    /// True when <paramref name="path"/> starts with a store file's header. The store file
    /// format (src/SharpMM.Hosted/User/StoreFile.cs) has no header yet, so no existing file is
    /// recognised: every non-empty file needs --force. When the header (magic, version) lands,
    /// this is the one call to point at its check.
    /// </summary>
    private static bool IsStoreFile(string path) => false;
}
