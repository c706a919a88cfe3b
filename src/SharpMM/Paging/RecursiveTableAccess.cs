namespace SharpMM.Paging;

/// <summary>
/// Reaches page tables through a recursive self-mapping: top-level entry <c>slot</c> points at
/// the top-level table itself, so a virtual address whose top index is <c>slot</c> walks one
/// level short and lands on a table instead of a page. With k leading <c>slot</c> indices the
/// walk ends k - 1 levels above the bottom:
/// <code>
///   table at level L for va  =  [slot] x (L + 1), then va's indices for levels top .. L + 1
///
///   x86 32-bit, slot 1023 (2 levels of 10 bits):
///     page directory          [1023][1023]      = 0xFFFFF000
///     page table for va       [1023][va 31:22]  = 0xFFC00000 + 4096 * (va >> 22)
///   x86-64, slot 510 (4 levels of 9 bits, sign-extended):
///     PML4                    [510][510][510][510]        = 0xFFFFFF7FBFDFE000
///     PDPT for va             [510][510][510][va 47:39]
///     PD for va               [510][510][va 47:39][va 38:30]
///     PT for va               [510][va 47:39][va 38:30][va 29:21]
/// </code>
/// The whole 2^IndexShift(top) window of the slot (4 MiB at 0xFFC00000 for 32-bit slot 1023;
/// 512 GiB at 0xFFFFFF0000000000 for x86-64 slot 510) is reserved: the mapper refuses to map
/// there and walks skip it.
///
/// Pointers come from <typeparamref name="TWindow"/> (kernel: a cast; hosted: a software walk
/// of the real tables, which resolves the self-map exactly as the MMU would). The recursive
/// address of a table changes meaning when the table is linked or unlinked (before a split it
/// even maps a 4 KiB piece of the large page), so <see cref="Linked"/> and
/// <see cref="Unlinked"/> invalidate it at once through the window.
///
/// A frame that is not linked has no recursive address. With a scratch page configured (a
/// virtual page whose page table exists and whose entry is free), <see cref="BeginUnlinked"/>
/// maps the frame there for the time it is filled, so new tables are zeroed before they are
/// visible to the walker and large pages can be split; the scratch page's whole level-0 table
/// span is reserved so the mapper never frees that table. Without one, new tables are zeroed
/// after linking (as the x86_64 crate does; a speculative walk may briefly see the frame's old
/// contents, so hand out zeroed frames) and splits return Unsupported.
///
/// Only formats with <see cref="IPagingFormat.SupportsRecursiveMapping"/> (x86 32-bit and
/// 4-level). Not done: PAE's four-directory variant, 5-level paging.
/// </summary>
public unsafe struct RecursiveTableAccess<TFormat, TWindow> : ITableAccess
    where TFormat : struct, IPagingFormat
    where TWindow : struct, IVirtualWindow
{
    private TWindow _window;
    private int _slot;
    private ulong _windowFirst, _windowLast;
    private ulong _scratchVa;
    private ulong _scratchTableFirst, _scratchTableLast;
    private bool _hasScratch;

    /// <summary>The window through which addresses are reached.</summary>
    public TWindow Window => _window;
    /// <summary>The self-mapping top-level slot.</summary>
    public readonly int Slot => _slot;
    /// <summary>First address of the recursive window.</summary>
    public readonly ulong WindowStart => _windowFirst;
    /// <summary>Last address of the recursive window.</summary>
    public readonly ulong WindowLast => _windowLast;

    private static int Top => TFormat.Levels - 1;

    /// <summary>
    /// Checks the loop and builds the accessor. <paramref name="root"/> is any pointer through
    /// which the top-level table can be read now (the recursive window itself is not trusted
    /// until checked); <paramref name="rootPhys"/> is its physical address (CR3).
    /// <paramref name="scratchVa"/> is 0 for none, or a page-aligned address outside the window
    /// whose level-0 table exists (reached through the loop) and whose entry is not present.
    /// Return: Ok; Unsupported (format without recursive mapping); InvalidArgument (slot out
    /// of range; the slot's entry points elsewhere or is not writable; bad scratch page);
    /// NotMapped (slot not present, or no page table for the scratch page); ParentIsHugePage
    /// (the slot maps a page); AlreadyMapped (the scratch page is mapped).
    /// </summary>
    public static Status Create(byte* root, ulong rootPhys, int slot, TWindow window, ulong scratchVa, out RecursiveTableAccess<TFormat, TWindow> access)
    {
        access = default;
        if (!TFormat.SupportsRecursiveMapping) return Status.Unsupported;
        if ((uint)slot >= (uint)TFormat.EntriesPerTable(Top) || root == null) return Status.InvalidArgument;
        ulong e = TFormat.Read(root, slot);
        if (!TFormat.IsPresent(e)) return Status.NotMapped;
        if (TFormat.IsLeaf(Top, e)) return Status.ParentIsHugePage;
        if (TFormat.Address(Top, e) != rootPhys || (TFormat.Flags(Top, e) & PageFlags.Writable) == 0) return Status.InvalidArgument;

        var a = new RecursiveTableAccess<TFormat, TWindow>();
        a._window = window;
        a._slot = slot;
        ulong topSpan = 1UL << TFormat.IndexShift(Top);
        a._windowFirst = TFormat.Canonicalize((ulong)slot << TFormat.IndexShift(Top));
        a._windowLast = a._windowFirst + (topSpan - 1);
        if (scratchVa != 0)
        {
            if ((scratchVa & Addressing.PageSize.OffsetMask) != 0 || !TFormat.IsCanonical(scratchVa)) return Status.InvalidArgument;
            if (scratchVa >= a._windowFirst && scratchVa <= a._windowLast) return Status.InvalidArgument;
            // Walk to the scratch page's table through the (now checked) loop.
            for (int level = Top; level >= 1; level--)
            {
                byte* t = a._window.Pointer(TableVirtualAddress(slot, level, scratchVa));
                ulong pe = TFormat.Read(t, Index(level, scratchVa));
                if (!TFormat.IsPresent(pe)) return Status.NotMapped;
                if (TFormat.IsLeaf(level, pe)) return Status.ParentIsHugePage;
            }
            byte* pt = a._window.Pointer(TableVirtualAddress(slot, 0, scratchVa));
            if (TFormat.IsPresent(TFormat.Read(pt, Index(0, scratchVa)))) return Status.AlreadyMapped;
            a._scratchVa = scratchVa;
            a._hasScratch = true;
            ulong span1 = 1UL << TFormat.IndexShift(1);
            a._scratchTableFirst = scratchVa & ~(span1 - 1);
            a._scratchTableLast = a._scratchTableFirst + (span1 - 1);
        }
        access = a;
        return Status.Ok;
    }

    /// <summary>Without a scratch page (see the type's notes).</summary>
    public static Status Create(byte* root, ulong rootPhys, int slot, TWindow window, out RecursiveTableAccess<TFormat, TWindow> access) =>
        Create(root, rootPhys, slot, window, 0, out access);

    /// <summary>
    /// Writes the self-map into the top-level table at <paramref name="root"/> (physical
    /// <paramref name="rootPhys"/>): slot points at the table, present, writable, supervisor
    /// only (U/S clear: with the permissive pointers below it, a user-accessible slot would
    /// hand every page table to user mode), not executable.
    /// Return: Ok; Unsupported; InvalidArgument (slot out of range); AlreadyMapped (slot in use).
    /// The caller flushes (the slot was not present, so x86 holds nothing stale).
    /// </summary>
    public static Status InstallLoop(byte* root, ulong rootPhys, int slot)
    {
        if (!TFormat.SupportsRecursiveMapping) return Status.Unsupported;
        if ((uint)slot >= (uint)TFormat.EntriesPerTable(Top) || root == null) return Status.InvalidArgument;
        if (TFormat.IsPresent(TFormat.Read(root, slot))) return Status.AlreadyMapped;
        TFormat.Write(root, slot, TFormat.WithFlags(Top, TFormat.MakeTable(Top, rootPhys), PageFlags.Writable));
        return Status.Ok;
    }

    /// <summary>The recursive virtual address of the table at <paramref name="level"/> for
    /// <paramref name="va"/> under self-map slot <paramref name="slot"/> (the formula above).</summary>
    public static ulong TableVirtualAddress(int slot, int level, ulong va)
    {
        int top = Top;
        ulong addr = 0;
        for (int pos = top; pos >= 0; pos--)
        {
            // Positions top .. top - level take the slot; the rest take va's index one level up.
            ulong index = pos >= top - level ? (ulong)slot : (ulong)Index(pos + level + 1, va);
            addr |= index << TFormat.IndexShift(pos);
        }
        return TFormat.Canonicalize(addr);
    }

    private static int Index(int level, ulong va) => (int)((va >> TFormat.IndexShift(level)) & (ulong)(TFormat.EntriesPerTable(level) - 1));

    /// <inheritdoc/>
    public byte* Table(ulong tablePhys, int level, ulong va) => _window.Pointer(TableVirtualAddress(_slot, level, va));

    /// <inheritdoc/>
    public byte* BeginUnlinked(ulong framePhys)
    {
        if (!_hasScratch) return null;
        byte* pt = _window.Pointer(TableVirtualAddress(_slot, 0, _scratchVa));
        int i = Index(0, _scratchVa);
        if (TFormat.IsPresent(TFormat.Read(pt, i))) Panic.Fail("recursive access: scratch page already in use", _scratchVa);
        TFormat.Write(pt, i, TFormat.MakeLeaf(0, framePhys, PageFlags.Writable));
        _window.Invalidate(_scratchVa);
        return _window.Pointer(_scratchVa);
    }

    /// <inheritdoc/>
    public void EndUnlinked(ulong framePhys)
    {
        byte* pt = _window.Pointer(TableVirtualAddress(_slot, 0, _scratchVa));
        TFormat.Write(pt, Index(0, _scratchVa), 0);
        _window.Invalidate(_scratchVa);
    }

    /// <inheritdoc/>
    public void Linked(int level, ulong va) => _window.Invalidate(TableVirtualAddress(_slot, level, va));
    /// <inheritdoc/>
    public void Unlinked(int level, ulong va) => _window.Invalidate(TableVirtualAddress(_slot, level, va));

    /// <inheritdoc/>
    public readonly bool OverlapsReserved(ulong first, ulong last) =>
        (first <= _windowLast && _windowFirst <= last) ||
        (_hasScratch && first <= _scratchTableLast && _scratchTableFirst <= last);

    /// <inheritdoc/>
    public readonly bool WithinReserved(ulong first, ulong last) =>
        (first >= _windowFirst && last <= _windowLast) ||
        (_hasScratch && first >= _scratchTableFirst && last <= _scratchTableLast);
}
