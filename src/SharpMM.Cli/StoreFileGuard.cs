using System.IO;
using SharpMM.Hosted.User;

namespace SharpMM.Cli;

/// <summary>
/// What `workload --store FILE` may write to: a new file, an empty one, or a SharpMM store file
/// (its header: src/SharpMM.Hosted/User/StoreFile.cs); anything else only with --force (a text
/// file must not silently become 68 MiB of pages).
/// </summary>
internal static class StoreFileGuard
{
    /// <summary>Throws <see cref="UsageException"/> naming the file when it may not be used.
    /// With <paramref name="force"/> a foreign file is left for the store to replace.</summary>
    public static void CheckMayUse(string path, bool force)
    {
        if (Directory.Exists(path)) throw new UsageException($"--store: {path} is a directory");
        if (!force && StoreFile.IsForeignFile(path))
            throw new UsageException($"--store: {path} exists and is not a SharpMM store file (give --force to replace it)");
    }
}
