using System;
using System.IO;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>`sharpmm boot`: boot a simulated machine and report.</summary>
internal static unsafe class BootCommand
{
    public static int Run(string[] args)
    {
        var o = new Options(args, new[] { "--mem", "--map", "--machine", "--layout" }, new[] { "--json" });
        if (o.Positional.Count > 0) throw new UsageException($"unexpected argument '{o.Positional[0]}'");
        bool json = o.Has("--json");
        MemoryMap raw = MapSource.Load(o, out string source);

        BootInfo info = BootInfo.Default();
        string layoutName = o.Get("--layout") ?? "";
        // Address-space layouts run the seeds' boot sequence (page tables, CR3 switch) first;
        // "i386" and "lowhigh" only choose the 32-bit zone layouts for the physical boot.
        if (layoutName is not ("" or "i386" or "lowhigh") && AddressSpaceLayout.TryParse(layoutName, out LayoutId layoutId))
            return BootWithLayout(layoutId, raw, source, json);
        info.Layout = layoutName switch
        {
            "" or "x86_64" => ZoneLayout.X86_64(),
            "i386" => ZoneLayout.I386(),
            "lowhigh" => ZoneLayout.LowHigh(),
            var l => throw new UsageException($"unknown layout '{l}' (i386-higher-half, i386-low-2g, phantom-ia32, x86_64; zones only: i386, lowhigh)"),
        };
        // Stand-ins for what a loader reports: a 2 MiB kernel at 1 MiB, Multiboot info at 36 KiB.
        PhysRange.TryFromBounds(0x100000, 0x300000, out info.KernelImage);
        PhysRange.TryFromBounds(0x9000, 0xa000, out info.BootInformation);

        using var machineState = SimulatedMachine.Boot(ref raw, in info, out MapError sanErr);
        if (machineState is null) return Program.Fail($"{source}: {MapSource.Describe(sanErr)}");
        if (machineState.BootStatus != Status.Ok)
            return Program.Fail($"{source}: boot failed: {StatusNames.Name(machineState.BootStatus)}");

        using var heap = new BootHeap(machineState);
        var w = StringSink.NewWriter();
        if (json)
        {
            BootReport.WriteJson(ref w, in *machineState.Memory, in heap.Heap->Pages);
            w.Line();
        }
        else
        {
            w.Str("SharpMM: booted a simulated machine: "); w.Str(source); w.Line();
            w.Str("simulated kernel image [mem 0x0000000000100000-0x00000000002fffff], boot info [mem 0x0000000000009000-0x0000000000009fff]"); w.Line();
            w.Line();
            BootReport.WriteText(ref w, in *machineState.Memory);
            w.Str("boot sequence took "); w.Dec((ulong)(machineState.BootTime.TotalMilliseconds * 1000)); w.Line(" us");
            w.Line();
            HeapReport.WriteText(ref w, in heap.Heap->Pages);
        }
        Console.Out.Write(w.Sink.Text.ToString());
        return 0;
    }

    private static int BootWithLayout(LayoutId id, MemoryMap raw, string source, bool json)
    {
        using var boot = LayoutBoot.Run(id, raw);
        using var heap = new BootHeap(boot.Machine);
        var w = StringSink.NewWriter();
        if (json)
        {
            BootReport.WriteJson(ref w, in *boot.Machine.Memory, in heap.Heap->Pages);
            w.Line();
        }
        else
        {
            w.Str("SharpMM: booted a simulated machine: "); w.Str(source); w.Line();
            w.Line();
            boot.Layout.WriteMap(ref w);
            w.Line();
            w.Str(boot.Log);
            w.Line();
            BootReport.WriteText(ref w, in *boot.Machine.Memory);
            w.Line();
            HeapReport.WriteText(ref w, in heap.Heap->Pages);
        }
        Console.Out.Write(w.Sink.Text.ToString());
        return boot.FailedChecks == 0 ? 0 : 1;
    }
}

/// <summary>The kernel heap brought up after the physical boot, as a kernel would (fast mode,
/// kernel-zone frames, large blocks through the direct map); in native memory because a heap
/// must not move after Init.</summary>
internal sealed unsafe class BootHeap : IDisposable
{
    public KernelHeap<BuddyClassFrames, DirectLargeMapper>* Heap { get; }

    public BootHeap(SimulatedMachine machine)
    {
        Heap = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>));
        Status st = Heap->Init(new BuddyClassFrames(&machine.Memory->Buddy, MemoryClass.Kernel), machine.DirectMap, new DirectLargeMapper(machine.DirectMap), HeapConfig.Default);
        if (st != Status.Ok) throw new InvalidOperationException($"heap init failed: {StatusNames.Name(st)}");
    }

    public void Dispose() => System.Runtime.InteropServices.NativeMemory.Free(Heap);
}
