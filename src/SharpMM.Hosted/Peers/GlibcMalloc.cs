using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Peers;

/// <summary>glibc's malloc and free (the process allocator), called directly: the calls are
/// short and never block on the runtime, so they skip the GC transition.</summary>
public unsafe struct GlibcMalloc : IMalloc
{
    [DllImport("libc", EntryPoint = "malloc", ExactSpelling = true), SuppressGCTransition]
    private static extern void* NativeMalloc(nuint size);

    [DllImport("libc", EntryPoint = "free", ExactSpelling = true), SuppressGCTransition]
    private static extern void NativeFree(void* p);

    /// <inheritdoc/>
    public void* Malloc(nuint size) => NativeMalloc(size);

    /// <inheritdoc/>
    public bool Free(void* p) { NativeFree(p); return true; }

    /// <inheritdoc/>
    public ulong HeldBytes() => ProcessMemory.ResidentBytes();
}
