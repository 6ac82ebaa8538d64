// Instantiates a family's model class (VlmModule.modelClass) from a checkpoint through its public static load(Path),
// the Java counterpart of VLM-R1's get_model_class().from_pretrained(...).
package org.vlmr1.module;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import org.vlmr1.model.VlmModel;

/** Loads models by class. */
final class ModelClasses {
  private ModelClasses() {}

  static VlmModel load(Class<? extends VlmModel> cls, Path checkpoint) throws IOException {
    Method load;
    try {
      load = cls.getMethod("load", Path.class);
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException(cls.getName() + " has no public static load(Path): a family's model class "
          + "loads itself from a checkpoint folder", e);
    }
    if (!Modifier.isStatic(load.getModifiers()) || !cls.isAssignableFrom(load.getReturnType())) {
      throw new IllegalArgumentException(cls.getName() + ".load(Path) must be static and return a "
          + cls.getSimpleName());
    }
    load.trySetAccessible(); // a public method of a class nested in a non-public one (tests, plug-ins)
    try {
      return cls.cast(load.invoke(null, checkpoint));
    } catch (InvocationTargetException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(c);
    } catch (IllegalAccessException e) {
      throw new IllegalArgumentException(cls.getName() + ".load(Path) is not accessible", e);
    }
  }
}
