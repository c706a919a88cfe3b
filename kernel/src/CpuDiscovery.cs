using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// Finds the CPUs in the ACPI MADT (the library's <see cref="AcpiParser"/>) through a view of
/// physical memory the architecture supplies: on x86-64 the boot stub's identity map of
/// [0, 4 GiB) (BootIdentityView, before the physical boot: the BIOS area and the firmware's
/// reserved ranges, where the tables live, are not in the kernel's own tables); on i386 the
/// kernel's physical-mapping window after the switch (AcpiWindowView: the tables may lie above
/// the 896 MiB the direct map reaches). Prints one line, e.g.
/// <code>
///   acpi: RSDP at 0x000f5a30, MADT: 4 processors (4 enabled, APIC ids 0 1 2 3), local APIC 0xfee00000, 1 I/O APIC at 0xfec00000
///   acpi: no MADT (RSDT checksum): one CPU
/// </code>
/// A refused table leaves the kernel on the boot CPU alone.
/// </summary>
internal static unsafe class CpuDiscovery
{
    private static Madt s_madt;

    /// <summary>True when a MADT was read.</summary>
    public static bool Found { get; private set; }

    /// <summary>The MADT (valid when <see cref="Found"/>).</summary>
    public static ref Madt Madt => ref s_madt;

    /// <summary>Reads the MADT and prints what it lists. The EBDA is taken to start where the
    /// loader's low RAM ends (Multiboot mem_lower): the BIOS data area's pointer to it lies in
    /// page 0, which the boot tables leave unmapped so that null dereferences fault.</summary>
    public static void Discover<TView>(ref LoaderInfo loader, ref TView view) where TView : struct, IPhysicalView
    {
        TextWriter<SerialSink> w = Log.Writer();
        MultibootInfo* mb = loader.Multiboot;
        ulong ebda = (mb->Flags & MultibootInfo.FlagMemory) != 0 ? (ulong)mb->MemLowerKiB << 10 : 0;
        Status s = AcpiParser.FindRsdp(ref view, ebda, out ulong rsdp, out string reason);
        if (s == Status.Ok) s = AcpiParser.ReadMadt(ref view, rsdp, out s_madt, out reason);
        if (s != Status.Ok)
        {
            w.Str("acpi: no MADT (");
            w.Str(reason);
            w.Line("): one CPU");
            return;
        }
        Found = true;
        w.Str("acpi: RSDP at ");
        w.Hex(rsdp, 8);
        w.Str(", MADT: ");
        w.Dec((ulong)s_madt.Listed);
        w.Str(" processors (");
        w.Dec((ulong)s_madt.EnabledCount);
        w.Str(" enabled, APIC ids");
        for (int i = 0; i < s_madt.Count; i++)
        {
            w.Char(' ');
            w.Dec(s_madt.Cpu(i).ApicId);
            if (!s_madt.Cpu(i).Enabled) w.Str(" (disabled)");
        }
        w.Str("), local APIC ");
        w.Hex(s_madt.LocalApicAddress, 8);
        if (s_madt.LocalApicOverridden) w.Str(" (override)");
        w.Str(", ");
        w.Dec((ulong)s_madt.IoApicCount);
        w.Str(" I/O APIC at ");
        w.Hex(s_madt.IoApicAddress, 8);
        w.Line();
    }
}
