using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Peers;

/// <summary>jemalloc (Debian libjemalloc2: libjemalloc.so.2). Debian builds it without a symbol
/// prefix, so it exports plain malloc/free; loaded with dlopen (local binding) those names are
/// resolved in jemalloc itself and do not replace the process allocator.</summary>
public unsafe struct Jemalloc : IMalloc
{
    /// <summary>The shared object loaded.</summary>
    public const string Library = "libjemalloc.so.2";

    [DllImport(Library, EntryPoint = "malloc", ExactSpelling = true), SuppressGCTransition]
    private static extern void* NativeMalloc(nuint size);

    [DllImport(Library, EntryPoint = "free", ExactSpelling = true), SuppressGCTransition]
    private static extern void NativeFree(void* p);

    /// <inheritdoc/>
    public void* Malloc(nuint size) => NativeMalloc(size);

    /// <inheritdoc/>
    public bool Free(void* p) { NativeFree(p); return true; }

    /// <inheritdoc/>
    public ulong HeldBytes() => ProcessMemory.ResidentBytes();
}
