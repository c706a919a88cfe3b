using System.Runtime.CompilerServices;
using Internal.Runtime;

namespace System.Runtime
{
    /// <summary>
    /// Cast helpers ilc calls by name for <c>is</c>, <c>as</c>, casts and reference-array stores
    /// that the JIT cannot decide inline. Supported freestanding: exact type and class-hierarchy
    /// checks (including array to System.Array/Object). Interface casts on objects, array
    /// covariance and variance are not: they stop the machine with a message rather than guess.
    /// </summary>
    internal static unsafe class TypeCast
    {
        private static bool IsInstanceOfClassCore(MethodTable* target, MethodTable* mt)
        {
            if (mt == target) return true;
            if (mt->IsParameterized)
            {
                // An array's base types are System.Array and Object (Object has no base type).
                return target->ElementType == MethodTable.ElementTypeSystemArray
                    || (target->RelatedType == null && target->ElementType != MethodTable.ElementTypeInterface);
            }
            for (mt = mt->RelatedType; mt != null; mt = mt->RelatedType)
                if (mt == target) return true;
            return false;
        }

        private static object IsInstanceOfClass(void* pvTargetType, object obj)
        {
            if (obj == null) return null;
            return IsInstanceOfClassCore((MethodTable*)pvTargetType, obj.m_pMethodTable) ? obj : null;
        }

        private static object IsInstanceOfAny(void* pvTargetType, object obj)
        {
            if (obj == null) return null;
            MethodTable* target = (MethodTable*)pvTargetType;
            if (obj.m_pMethodTable == target) return obj;
            if (target->ElementType == MethodTable.ElementTypeInterface || target->IsParameterized)
                Environment.FailFast("cast: interface or array cast not supported freestanding");
            return IsInstanceOfClassCore(target, obj.m_pMethodTable) ? obj : null;
        }

        private static object IsInstanceOfInterface(void* pvTargetType, object obj)
        {
            if (obj == null) return null;
            Environment.FailFast("cast: interface cast not supported freestanding");
            return null;
        }

        private static bool IsInstanceOfException(void* pvTargetType, object obj) => false;

        private static object CheckCastAny(void* pvTargetType, object obj)
        {
            if (obj != null && IsInstanceOfAny(pvTargetType, obj) == null) Environment.FailFast("invalid cast");
            return obj;
        }

        private static object CheckCastInterface(void* pvTargetType, object obj)
        {
            if (obj != null) IsInstanceOfInterface(pvTargetType, obj);
            return obj;
        }

        private static object CheckCastClass(void* pvTargetType, object obj)
        {
            if (obj != null && !IsInstanceOfClassCore((MethodTable*)pvTargetType, obj.m_pMethodTable)) Environment.FailFast("invalid cast");
            return obj;
        }

        private static object CheckCastClassSpecial(void* pvTargetType, object obj) => CheckCastClass(pvTargetType, obj);

        private struct ArrayElement
        {
            public object Value;
        }

        /// <summary><c>array[index] = obj</c> for arrays of references: exact element type only.</summary>
        private static void StelemRef(object[] array, nint index, object obj)
        {
            ref object element = ref Unsafe.As<ArrayElement[]>(array)[index].Value;
            if (obj != null && array.m_pMethodTable->RelatedType != obj.m_pMethodTable
                && !IsInstanceOfClassCore(array.m_pMethodTable->RelatedType, obj.m_pMethodTable))
                Environment.FailFast("array store: element type mismatch");
            element = obj;
        }

        /// <summary><c>ref array[index]</c> for arrays of references: the element type must match exactly.</summary>
        private static ref object LdelemaRef(object[] array, nint index, void* elementType)
        {
            ref object element = ref Unsafe.As<ArrayElement[]>(array)[index].Value;
            if (array.m_pMethodTable->RelatedType != (MethodTable*)elementType) Environment.FailFast("array element address: type mismatch");
            return ref element;
        }
    }
}
