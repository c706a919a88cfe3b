using System.Runtime.CompilerServices;
using Internal.Runtime;

namespace System.Runtime
{
    /// <summary>
    /// Boxing helpers ilc calls by name. Boxing allocates (through RhpNewFast, so only once the
    /// kernel heap hook is set); unboxing only checks the type and returns a reference into the box.
    /// </summary>
    internal static unsafe class RuntimeExports
    {
        [MethodImpl(MethodImplOptions.InternalCall)]
        [RuntimeImport("*", "RhpNewFast")]
        private static extern object RhpNewFast(MethodTable* pEEType);

        private static object RhBox(MethodTable* pEEType, ref byte data)
        {
            object result = RhpNewFast(pEEType);
            // The value goes right after the MethodTable pointer. BaseSize counts the header word
            // and the MethodTable pointer (8 + 8) and rounds the value up to 8 bytes, so the copy
            // may read up to 7 bytes past the source value (always within the caller's frame).
            nuint size = pEEType->BaseSize - (nuint)(2 * sizeof(nint));
            Buffer.Memmove(ref *(RawAddress(result) + sizeof(nint)), ref data, size);
            return result;
        }

        private static ref byte RhUnbox2(MethodTable* pUnboxToEEType, object obj)
        {
            if (obj == null || obj.m_pMethodTable != pUnboxToEEType) Environment.FailFast("unbox: type mismatch");
            return ref *(RawAddress(obj) + sizeof(nint));
        }

        /// <summary>The address an object reference holds (its MethodTable pointer's address).</summary>
        private static byte* RawAddress(object obj) => (byte*)Unsafe.As<object, nint>(ref obj);

        private static void RhUnboxNullable(ref byte data, MethodTable* pUnboxToEEType, object obj)
        {
            Environment.FailFast("unbox to Nullable not supported freestanding");
        }

        private static void RhUnboxTypeTest(MethodTable* pType, MethodTable* pBoxType)
        {
            if (pType != pBoxType) Environment.FailFast("unbox: type mismatch");
        }
    }
}
