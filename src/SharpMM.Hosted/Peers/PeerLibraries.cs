using System;
using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Peers;

/// <summary>Which peer allocators this machine has (Debian packages libmimalloc2.0,
/// libjemalloc2, libtcmalloc-minimal4); glibc is always there.</summary>
public static class PeerLibraries
{
    /// <summary>The peers, by name.</summary>
    public static readonly string[] Names = { "glibc", "mimalloc", "jemalloc", "tcmalloc" };

    /// <summary>The shared object a peer lives in (null for glibc, the process allocator).</summary>
    public static string? LibraryOf(string peer) => peer switch
    {
        "glibc" => null,
        "mimalloc" => Mimalloc.Library,
        "jemalloc" => Jemalloc.Library,
        "tcmalloc" => Tcmalloc.Library,
        _ => throw new ArgumentException($"unknown peer '{peer}'", nameof(peer)),
    };

    /// <summary>True when the peer can be called; otherwise <paramref name="why"/> says what is missing.</summary>
    public static bool IsAvailable(string peer, out string why)
    {
        string? lib = LibraryOf(peer);
        why = "";
        if (lib == null) return true;
        if (NativeLibrary.TryLoad(lib, out _)) return true;
        why = $"{lib} not found (Debian package {DebianPackage(peer)})";
        return false;
    }

    /// <summary>The Debian package that installs <paramref name="peer"/>.</summary>
    public static string DebianPackage(string peer) => peer switch
    {
        "mimalloc" => "libmimalloc2.0",
        "jemalloc" => "libjemalloc2",
        "tcmalloc" => "libtcmalloc-minimal4",
        _ => "libc6",
    };
}
