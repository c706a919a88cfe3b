using System;
using System.Runtime.CompilerServices;

namespace SharpMM.Boot;

/// <summary>
/// What the kernel needs from the ACPI MADT ("APIC" table): the local APIC's physical address
/// (the table's field, or the 64-bit override of entry type 5), the processors (entry types 0 and
/// 9, in table order, which is the order firmware wants them started) and the first I/O APIC.
/// Holds up to <see cref="Capacity"/> processors; <see cref="Listed"/> counts every entry, so a
/// caller sees when the table listed more than were kept.
/// </summary>
public struct Madt
{
    /// <summary>Processor entries kept (a table may list more: <see cref="Listed"/>).</summary>
    public const int Capacity = 64;

    /// <summary>Physical address of the local APIC registers (0xFEE00000 on PCs).</summary>
    public ulong LocalApicAddress;
    /// <summary>True when entry type 5 replaced the table's 32-bit address.</summary>
    public bool LocalApicOverridden;
    /// <summary>Flags bit 0 (PCAT_COMPAT): the machine also has 8259 PICs, which must be masked.</summary>
    public bool HasLegacyPics;
    /// <summary>Physical address of the first I/O APIC (0 when the table lists none).</summary>
    public ulong IoApicAddress;
    /// <summary>I/O APIC entries listed.</summary>
    public int IoApicCount;
    /// <summary>Processor entries listed, kept or not, enabled or not.</summary>
    public int Listed;
    /// <summary>Processor entries kept in <see cref="Cpu"/> (the first <see cref="Capacity"/>).</summary>
    public int Count;

    private CpuArray _cpus;

    /// <summary>The <paramref name="index"/>th processor entry kept (0 &lt;= index &lt; <see cref="Count"/>).</summary>
    public readonly MadtCpu Cpu(int index) => _cpus[index];

    /// <summary>Processor entries kept with the enabled flag set.</summary>
    public readonly int EnabledCount
    {
        get
        {
            int n = 0;
            for (int i = 0; i < Count; i++) if (_cpus[i].Enabled) n++;
            return n;
        }
    }

    /// <summary>
    /// The processors to start after the boot CPU: the enabled entries in table order without the
    /// boot CPU's own (<paramref name="bootApicId"/>), at most <paramref name="maxCpus"/> - 1 and
    /// at most <paramref name="apicIds"/>.Length of them, written to <paramref name="apicIds"/>.
    /// Return: how many were written. <paramref name="beyondLimit"/>: the processors left out for
    /// the limit (enabled entries past it, and entries listed beyond <see cref="Capacity"/>).
    /// </summary>
    public readonly int StartOrder(uint bootApicId, int maxCpus, Span<uint> apicIds, out int beyondLimit)
    {
        int room = Math.Min(maxCpus - 1, apicIds.Length);
        int written = 0;
        beyondLimit = Listed - Count;
        for (int i = 0; i < Count; i++)
        {
            MadtCpu cpu = _cpus[i];
            if (!cpu.Enabled || cpu.ApicId == bootApicId) continue;
            if (written < room) apicIds[written++] = cpu.ApicId;
            else beyondLimit++;
        }
        return written;
    }

    internal void Add(MadtCpu cpu)
    {
        if (Count < Capacity) _cpus[Count++] = cpu;
        Listed++;
    }

    [InlineArray(Capacity)]
    private struct CpuArray
    {
        private MadtCpu _element;
    }
}
