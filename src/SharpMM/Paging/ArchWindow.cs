namespace SharpMM.Paging;

/// <summary>
/// The <see cref="IVirtualWindow"/> of code running on the CPU whose page tables these are (the
/// kernel): a virtual address is the pointer itself, and invalidating it is the arch hooks'
/// invlpg, or a root reload on a CPU without invlpg (the window's entries are never global).
/// Hosted code cannot use it (the window's addresses are not host addresses): it goes through
/// the MMU model or a software walk instead.
/// </summary>
public unsafe struct ArchWindow<TArch> : IVirtualWindow where TArch : struct, IArchHooks
{
    private TArch _arch;

    /// <summary>A window invalidating through <paramref name="arch"/>.</summary>
    public ArchWindow(TArch arch) { _arch = arch; }

    /// <inheritdoc/>
    public byte* Pointer(ulong va) => (byte*)va;

    /// <inheritdoc/>
    public void Invalidate(ulong va)
    {
        if (_arch.HasInvalidatePage) _arch.InvalidatePage(va);
        else _arch.WriteCr3(_arch.ReadCr3());
    }
}
