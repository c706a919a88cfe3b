namespace SharpMM.Kernel;

/// <summary>
/// The earliest allocator, of the kind small teaching kernels start with: a free region the
/// linker script sets aside inside the image ([__free_ram, __free_ram_end), 64 KiB, reserved
/// with the image when memblock comes up) and a bump pointer. <see cref="Alloc"/> hands out
/// zeroed whole pages and panics when the region is used up; nothing is ever freed. It serves
/// what the kernel needs before memblock exists (the double-fault stack, Platform.EarlyInit).
/// </summary>
internal static unsafe class EarlyPages
{
    private const uint PageBytes = 4096;
    private static byte* s_next;

    /// <summary>Pages left in the region.</summary>
    public static uint Remaining => (uint)((Arch.FreeRamEnd() - Next) / PageBytes);

    private static byte* Next => s_next != null ? s_next : Arch.FreeRam();

    /// <summary><paramref name="pages"/> zeroed pages, or null (and nothing taken) when fewer
    /// than that are left or <paramref name="pages"/> is 0.</summary>
    public static byte* TryAlloc(uint pages)
    {
        if (pages == 0 || pages > Remaining) return null;
        byte* p = Next;
        for (uint i = 0; i < pages * PageBytes; i++) p[i] = 0;
        s_next = p + pages * PageBytes;
        return p;
    }

    /// <summary><paramref name="pages"/> zeroed pages; panics when the region is used up.</summary>
    public static byte* Alloc(uint pages)
    {
        byte* p = TryAlloc(pages);
        if (p == null) KernelPanic.Fail("early pages: the region is used up, pages asked", pages);
        return p;
    }
}
