using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>
/// Where managed allocations (<c>new</c> of a class, arrays, boxing) get their memory.
/// ilc compiles them into calls to RhpNewFast / RhpNewArray (RuntimeExports.cs), which call
/// <see cref="Allocate"/>, which calls the hook the kernel installs once a real allocator is up:
/// <code>
///   static void* MyAlloc(nuint byteCount) { ... }          // 8-byte aligned, or null when out of memory
///   ManagedNewHook.SetAllocator(&amp;MyAlloc);
/// </code>
/// The hook need not zero the memory (the Rhp helpers do). There is no free: without a GC,
/// managed objects live forever, so kernel code should keep <c>new</c> to boot-time singletons.
/// Before the hook is set every allocation panics with "new before heap is up".
/// </summary>
public static unsafe class ManagedNewHook
{
    private static delegate*<nuint, void*> s_allocate;

    /// <summary>True once an allocator is installed.</summary>
    public static bool IsUp => s_allocate != null;

    /// <summary>Installs (or, with null, removes) the allocation hook.</summary>
    public static void SetAllocator(delegate*<nuint, void*> allocate) => s_allocate = allocate;

    /// <summary>The installed hook (null when none).</summary>
    public static delegate*<nuint, void*> Allocator => s_allocate;

    /// <summary><paramref name="byteCount"/> bytes, 8-byte aligned, not zeroed. Panics before
    /// the hook is set and when the hook returns null or misaligned memory.</summary>
    public static void* Allocate(nuint byteCount)
    {
        delegate*<nuint, void*> allocate = s_allocate;
        if (allocate == null) KernelPanic.Fail("new before heap is up", byteCount);
        void* p = allocate(byteCount);
        if (p == null) KernelPanic.Fail("new: out of memory", byteCount);
        if (((ulong)p & 7) != 0) KernelPanic.Fail("new: allocator returned misaligned memory", (ulong)p);
        return p;
    }
}
