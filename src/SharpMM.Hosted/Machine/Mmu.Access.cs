using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

public sealed unsafe partial class Mmu
{
    /// <summary>Called on a page fault during an access through the model; null: the access fails.</summary>
    public PageFaultHandler? FaultHandler { get; set; }

    /// <summary>How many times one access may be retried after the handler answered Retry before it
    /// fails with <see cref="AccessStatus.RetryLimitExceeded"/> (a handler that loops). Default 4.</summary>
    public int MaxFaultRetries { get; set; } = 4;

    // Accesses through the model. Each translates (calling the fault handler on a page fault)
    // every page it touches before touching memory, so an access that crosses into a faulting
    // page changes nothing. Try* return the status; the others throw MachineFaultException.

    /// <summary>Reads 8 bytes at <paramref name="va"/>.</summary>
    public AccessStatus TryRead64(ulong va, Privilege privilege, out ulong value)
    {
        if ((va & 0xFFF) <= 0xFF8)
        {
            AccessStatus st1 = Resolve(va, AccessKind.Read, privilege, out ulong pa);
            value = st1 == AccessStatus.Ok ? *(ulong*)DataPointer(pa, 8, va) : 0;
            return st1;
        }
        ulong v = 0;
        AccessStatus st = Access(va, (byte*)&v, 8, AccessKind.Read, privilege);
        value = v;
        return st;
    }

    /// <summary>Writes 8 bytes at <paramref name="va"/>.</summary>
    public AccessStatus TryWrite64(ulong va, ulong value, Privilege privilege)
    {
        if ((va & 0xFFF) <= 0xFF8)
        {
            AccessStatus st = Resolve(va, AccessKind.Write, privilege, out ulong pa);
            if (st == AccessStatus.Ok) *(ulong*)DataPointer(pa, 8, va) = value;
            return st;
        }
        return Access(va, (byte*)&value, 8, AccessKind.Write, privilege);
    }

    /// <summary>Reads 4 bytes at <paramref name="va"/>.</summary>
    public AccessStatus TryRead32(ulong va, Privilege privilege, out uint value)
    {
        uint v = 0;
        AccessStatus st = Access(va, (byte*)&v, 4, AccessKind.Read, privilege);
        value = v;
        return st;
    }

    /// <summary>Writes 4 bytes at <paramref name="va"/>.</summary>
    public AccessStatus TryWrite32(ulong va, uint value, Privilege privilege) =>
        Access(va, (byte*)&value, 4, AccessKind.Write, privilege);

    /// <summary>Reads one byte at <paramref name="va"/>.</summary>
    public AccessStatus TryRead8(ulong va, Privilege privilege, out byte value)
    {
        byte v = 0;
        AccessStatus st = Access(va, &v, 1, AccessKind.Read, privilege);
        value = v;
        return st;
    }

    /// <summary>Writes one byte at <paramref name="va"/>.</summary>
    public AccessStatus TryWrite8(ulong va, byte value, Privilege privilege) =>
        Access(va, &value, 1, AccessKind.Write, privilege);

    /// <summary>Fetches one instruction byte at <paramref name="va"/>.</summary>
    public AccessStatus TryFetch(ulong va, Privilege privilege, out byte value)
    {
        byte v = 0;
        AccessStatus st = Access(va, &v, 1, AccessKind.Fetch, privilege);
        value = v;
        return st;
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="va"/>, page
    /// by page: a fault part-way leaves the earlier pages copied (as a string instruction would).</summary>
    public AccessStatus TryReadBytes(ulong va, Span<byte> destination, Privilege privilege)
    {
        fixed (byte* p = destination) return Copy(va, p, destination.Length, AccessKind.Read, privilege);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="va"/>, page by page.</summary>
    public AccessStatus TryWriteBytes(ulong va, ReadOnlySpan<byte> source, Privilege privilege)
    {
        fixed (byte* p = source) return Copy(va, p, source.Length, AccessKind.Write, privilege);
    }

    /// <summary>Reads 8 bytes; throws MachineFaultException if the access fails.</summary>
    public ulong Read64(ulong va, Privilege privilege = Privilege.Supervisor)
    {
        AccessStatus st = TryRead64(va, privilege, out ulong value);
        if (st != AccessStatus.Ok) ThrowAccess(st, va, AccessKind.Read);
        return value;
    }

    /// <summary>Writes 8 bytes; throws MachineFaultException if the access fails.</summary>
    public void Write64(ulong va, ulong value, Privilege privilege = Privilege.Supervisor)
    {
        AccessStatus st = TryWrite64(va, value, privilege);
        if (st != AccessStatus.Ok) ThrowAccess(st, va, AccessKind.Write);
    }

    /// <summary>Reads one byte; throws MachineFaultException if the access fails.</summary>
    public byte Read8(ulong va, Privilege privilege = Privilege.Supervisor)
    {
        AccessStatus st = TryRead8(va, privilege, out byte value);
        if (st != AccessStatus.Ok) ThrowAccess(st, va, AccessKind.Read);
        return value;
    }

    /// <summary>Writes one byte; throws MachineFaultException if the access fails.</summary>
    public void Write8(ulong va, byte value, Privilege privilege = Privilege.Supervisor)
    {
        AccessStatus st = TryWrite8(va, value, privilege);
        if (st != AccessStatus.Ok) ThrowAccess(st, va, AccessKind.Write);
    }

    /// <summary>Fetches one instruction byte; throws MachineFaultException if the fetch fails.</summary>
    public byte Fetch(ulong va, Privilege privilege = Privilege.Supervisor)
    {
        AccessStatus st = TryFetch(va, privilege, out byte value);
        if (st != AccessStatus.Ok) ThrowAccess(st, va, AccessKind.Fetch);
        return value;
    }

    /// <summary>Reads 8 bytes of RAM at physical <paramref name="pa"/>; throws
    /// PhysicalAddressException outside RAM.</summary>
    public ulong ReadPhysical64(ulong pa) => *(ulong*)PhysicalPointer(pa, 8);
    /// <summary>Writes 8 bytes of RAM at physical <paramref name="pa"/>.</summary>
    public void WritePhysical64(ulong pa, ulong value) => *(ulong*)PhysicalPointer(pa, 8) = value;
    /// <summary>Reads 4 bytes of RAM at physical <paramref name="pa"/>.</summary>
    public uint ReadPhysical32(ulong pa) => *(uint*)PhysicalPointer(pa, 4);
    /// <summary>Writes 4 bytes of RAM at physical <paramref name="pa"/>.</summary>
    public void WritePhysical32(ulong pa, uint value) => *(uint*)PhysicalPointer(pa, 4) = value;

    /// <summary>One line for a fault: address, error code and what its bits say.</summary>
    public static string Describe(PageFault fault)
    {
        PageFaultErrorCode c = fault.Error;
        string cause = (c & PageFaultErrorCode.ReservedBit) != 0 ? "reserved bit"
            : fault.NotPresent ? "not present" : "protection";
        string kind = fault.IsFetch ? "fetch" : fault.IsWrite ? "write" : "read";
        return $"page fault at linear 0x{fault.Address:x}, error 0x{(uint)c:x} ({cause}, {kind}, {(fault.IsUser ? "user" : "supervisor")})";
    }

    private byte* PhysicalPointer(ulong pa, int size)
    {
        if (pa > _ramSize - (ulong)size)
            throw new PhysicalAddressException(pa, $"physical 0x{pa:x} (+{size}) is outside RAM [0, 0x{_ramSize:x})");
        return _ram + pa;
    }

    /// <summary>An access of at most 8 bytes: every page it touches is translated (with fault
    /// delivery) before any byte moves.</summary>
    private AccessStatus Access(ulong va, byte* data, int size, AccessKind kind, Privilege privilege)
    {
        AccessStatus st = Resolve(va, kind, privilege, out ulong pa);
        if (st != AccessStatus.Ok) return st;
        int first = (int)Math.Min((ulong)size, 0x1000 - (va & 0xFFF));
        if (first == size)
        {
            Move(data, DataPointer(pa, size, va), size, kind);
            return AccessStatus.Ok;
        }
        ulong va2 = va + (ulong)first;
        st = Resolve(va2, kind, privilege, out ulong pa2);
        if (st != AccessStatus.Ok) return st;
        Move(data, DataPointer(pa, first, va), first, kind);
        Move(data + first, DataPointer(pa2, size - first, va2), size - first, kind);
        return AccessStatus.Ok;
    }

    private AccessStatus Copy(ulong va, byte* data, int size, AccessKind kind, Privilege privilege)
    {
        while (size > 0)
        {
            AccessStatus st = Resolve(va, kind, privilege, out ulong pa);
            if (st != AccessStatus.Ok) return st;
            int chunk = (int)Math.Min((ulong)size, 0x1000 - (va & 0xFFF));
            Move(data, DataPointer(pa, chunk, va), chunk, kind);
            data += chunk;
            size -= chunk;
            va += (ulong)chunk;
        }
        return AccessStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Move(byte* data, byte* ram, int size, AccessKind kind)
    {
        if (kind == AccessKind.Write) Buffer.MemoryCopy(data, ram, size, size);
        else Buffer.MemoryCopy(ram, data, size, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* DataPointer(ulong pa, int size, ulong va)
    {
        if (pa > _ramSize - (ulong)size) ThrowOutsideRam(pa, va);
        return _ram + pa;
    }

    [DoesNotReturn]
    private void ThrowOutsideRam(ulong pa, ulong va) =>
        throw new PhysicalAddressException(pa, $"linear 0x{va:x} maps to physical 0x{pa:x}, outside RAM [0, 0x{_ramSize:x})");

    /// <summary>Translates; on a page fault calls the handler and retries while it answers Retry,
    /// at most <see cref="MaxFaultRetries"/> times.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private AccessStatus Resolve(ulong va, AccessKind kind, Privilege privilege, out ulong pa)
    {
        TranslationResult r = Translate(va, kind, privilege, out pa);
        return r == TranslationResult.Ok ? AccessStatus.Ok : Deliver(va, kind, privilege, r, out pa);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private AccessStatus Deliver(ulong va, AccessKind kind, Privilege privilege, TranslationResult r, out ulong pa)
    {
        pa = 0;
        for (int retries = 0; ; retries++)
        {
            if (r == TranslationResult.GeneralProtection) return AccessStatus.GeneralProtection;
            PageFaultHandler? handler = FaultHandler;
            if (handler == null) return AccessStatus.PageFault;
            if (retries >= MaxFaultRetries)
            {
                _counters._retryLimit++;
                return AccessStatus.RetryLimitExceeded;
            }
            _counters._handlerCalls++;
            if (handler(this, LastFault) == FaultResolution.Fail)
            {
                _counters._handlerFailures++;
                return AccessStatus.PageFault;
            }
            _counters._handlerRetries++;
            r = Translate(va, kind, privilege, out pa);
            if (r == TranslationResult.Ok) return AccessStatus.Ok;
        }
    }

    [DoesNotReturn]
    private void ThrowAccess(AccessStatus status, ulong va, AccessKind kind)
    {
        string message = status switch
        {
            AccessStatus.GeneralProtection => $"#GP: {kind} of linear 0x{va:x}: " +
                (_mode == PagingMode.FourLevel ? "non-canonical address" : "address above 4 GiB"),
            AccessStatus.RetryLimitExceeded => $"#PF: {Describe(LastFault)} still faults after the handler answered Retry {MaxFaultRetries} times",
            _ => $"#PF: {Describe(LastFault)}" + (FaultHandler == null ? " (no fault handler)" : " (the handler answered Fail)"),
        };
        throw new MachineFaultException(status, status == AccessStatus.GeneralProtection ? default : LastFault, message);
    }
}
