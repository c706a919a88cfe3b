using System;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Boot;

namespace SharpMM.Hosted;

/// <summary>
/// A hosted machine: simulated RAM (host address space reserved up to the highest usable
/// address, committed on touch) reached through a direct-map offset, and the physical memory
/// manager booted over it by the same code the kernel runs.
/// </summary>
public sealed unsafe class SimulatedMachine : IDisposable
{
    /// <summary>The RAM buffer: physical address p is at Ram.Base + p.</summary>
    public HostMemory Ram { get; }
    /// <summary>How the library reaches RAM.</summary>
    public DirectMap DirectMap { get; }
    /// <summary>The physical memory manager (native memory: it is a large struct).</summary>
    public PhysicalMemory* Memory { get; }
    /// <summary>Boot status (<see cref="Status.Retired"/> for a machine prepared but not booted here).</summary>
    public Status BootStatus { get; private set; }
    /// <summary>Wall-clock time of the boot sequence.</summary>
    public TimeSpan BootTime { get; private set; }

    private SimulatedMachine(HostMemory ram, PhysicalMemory* pm, Status status, TimeSpan time)
    {
        Ram = ram; DirectMap = new DirectMap((ulong)ram.Base); Memory = pm; BootStatus = status; BootTime = time;
    }

    /// <summary>Sanitizes <paramref name="raw"/> and boots. Throws only for host failures
    /// (<see cref="HostBudgetExceededException"/> when the machine costs more than
    /// <see cref="HostBudget"/> allows); library failures come back in <see cref="BootStatus"/>
    /// or <paramref name="error"/>.</summary>
    public static SimulatedMachine? Boot(ref MemoryMap raw, in BootInfo info, out MapError error)
    {
        MemoryMap sanitized = default;
        if (MapSanitizer.Sanitize(ref raw, ref sanitized, out error) != Status.Ok) return null;
        return BootSanitized(in sanitized, in info);
    }

    /// <summary>Boots over an already sanitized map.</summary>
    public static SimulatedMachine BootSanitized(in MemoryMap sanitized, in BootInfo info)
    {
        var m = Prepare(in sanitized);
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        m.BootStatus = m.Memory->Boot(in sanitized, in info, m.DirectMap);
        m.BootTime = System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        return m;
    }

    /// <summary>RAM sized for the map's usable memory and an empty physical memory manager,
    /// for callers that run the boot sequence themselves (step by step). Throws
    /// <see cref="HostBudgetExceededException"/>, before allocating anything, when the machine
    /// costs more than <see cref="HostBudget"/> allows (callers that want a status call
    /// <see cref="HostBudget.Check"/> first).</summary>
    public static SimulatedMachine Prepare(in MemoryMap sanitized)
    {
        if (HostBudget.Check(in sanitized, out string? refusal) != Status.Ok) throw new HostBudgetExceededException(refusal!);
        ulong top = 0, limit = Pfn.ManagedLimit << PageSize.Shift;
        for (int i = 0; i < sanitized.Count; i++)
            if (sanitized[i].Type == MemoryType.Usable && sanitized[i].Start < limit)
                top = Math.Max(top, Math.Min(sanitized[i].End, limit));
        var ram = new HostMemory(Math.Max(top, 1UL << 20));
        var pm = (PhysicalMemory*)NativeMemory.AllocZeroed((nuint)sizeof(PhysicalMemory));
        return new SimulatedMachine(ram, pm, Status.Retired, TimeSpan.Zero);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        NativeMemory.Free(Memory);
        Ram.Dispose();
    }
}

/// <summary>A simulated machine refused because it would cost the host more than
/// <see cref="HostBudget"/> allows; the message names the amount, the limit and how to raise it.</summary>
public sealed class HostBudgetExceededException(string message) : InvalidOperationException(message);
